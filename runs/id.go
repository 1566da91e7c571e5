package runs

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"time"
)

const (
	idTimeLayout = "20060102-150405"
	idSuffixLen  = 4
	idAlphabet   = "0123456789abcdefghijklmnopqrstuvwxyz"
	// IDLen is the length of every run id; pod names are built from it.
	IDLen = len(idTimeLayout) + 1 + idSuffixLen
)

var idPattern = regexp.MustCompile(`^[0-9]{8}-[0-9]{6}-[0-9a-z]{4}$`)

// NewID returns a run id such as "20261128-210501-k3x9": the UTC second it was
// made, then a random suffix. Ids sort by time, read as a date, and are
// DNS-1123 label safe, so they fit into pod names. The store retries on the
// rare collision.
func NewID(now time.Time) string {
	var b strings.Builder
	b.Grow(IDLen)
	b.WriteString(now.UTC().Format(idTimeLayout))
	b.WriteByte('-')
	for range idSuffixLen {
		b.WriteByte(idAlphabet[rand.IntN(len(idAlphabet))])
	}
	return b.String()
}

// ValidID reports whether id has the shape NewID produces.
func ValidID(id string) bool { return idPattern.MatchString(id) }
