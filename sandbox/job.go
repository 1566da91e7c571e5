package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// MaxJobIDLen bounds job ids so that URLs, pod labels and process
// arguments stay short.
const MaxJobIDLen = 100

// ValidateJobID checks a job id: 1 to MaxJobIDLen characters of [a-z0-9-],
// so that it is safe in URL paths, labels and names.
func ValidateJobID(id string) error {
	if id == "" || len(id) > MaxJobIDLen {
		return fmt.Errorf("invalid job id %q: want 1-%d characters", id, MaxJobIDLen)
	}
	for _, c := range id {
		if !jobIDChar(c) {
			return fmt.Errorf("invalid job id %q: only [a-z0-9-] allowed", id)
		}
	}
	return nil
}

func jobIDChar(c rune) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' }

// JobID is the job id of the sandbox of repo in the start of run at
// attempt and fence: "{run}-{repo}-{attempt}-{fence in base 36}"
// lowercased, with every character outside [a-z0-9-] replaced by '-'. The
// fence makes the ids of two starts differ even at the same attempt (a
// start Redis lost). An id over MaxJobIDLen is cut and ends in a hash of
// the full one, so it stays deterministic and distinct.
func JobID(runID, repo string, attempt int, fence int64) string {
	raw := runID + "-" + repo + "-" + strconv.Itoa(attempt) + "-" + strconv.FormatInt(fence, 36)
	var b strings.Builder
	for _, c := range strings.ToLower(raw) {
		if jobIDChar(c) {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	id := b.String()
	if len(id) <= MaxJobIDLen {
		return id
	}
	sum := sha256.Sum256([]byte(raw))
	suffix := hex.EncodeToString(sum[:])[:12]
	return id[:MaxJobIDLen-len(suffix)-1] + "-" + suffix
}
