package runs

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
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

// JobID names the sandbox of one repository in one attempt of a run:
// "{runID}-{repo}-{attempt}". It keys the sandbox's Redis lists and streams.
func JobID(runID, repo string, attempt int) string {
	return runID + "-" + repo + "-" + strconv.Itoa(attempt)
}

// ParseJobID splits a job id built by JobID.
func ParseJobID(job string) (runID, repo string, attempt int, err error) {
	if len(job) < IDLen+4 || !ValidID(job[:IDLen]) || job[IDLen] != '-' {
		return "", "", 0, fmt.Errorf("job id %q: does not start with a run id", job)
	}
	rest := job[IDLen+1:]
	cut := strings.LastIndexByte(rest, '-')
	if cut <= 0 {
		return "", "", 0, fmt.Errorf("job id %q: missing repository or attempt", job)
	}
	attempt, err = strconv.Atoi(rest[cut+1:])
	if err != nil || attempt < 1 || strconv.Itoa(attempt) != rest[cut+1:] {
		return "", "", 0, fmt.Errorf("job id %q: attempt %q is not a positive number", job, rest[cut+1:])
	}
	return job[:IDLen], rest[:cut], attempt, nil
}
