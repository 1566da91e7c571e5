package kube

import (
	"strconv"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"
)

// PodName is the name of the sandbox pod of repo in the start of run runID
// at fence: sandbox-{run}-{fence in base 36}-{repo}. Two starts of a run
// have pods of different names, so a stale start's pod is never mistaken
// for the current one's; within a start a duplicate create is
// AlreadyExists rather than a twin. The fence comes before the repo so that
// shortening, which cuts the tail, keeps it. A result that would not be a
// DNS-1123 label of at most 63 characters (a long or unusual repo name) is
// lowercased, cut short and ends in a hash of the full name.
func PodName(runID string, fence int64, repo string) string {
	name := "sandbox-" + runID + "-" + strconv.FormatInt(fence, 36) + "-" + repo
	if len(validation.IsDNS1123Label(name)) == 0 {
		return name
	}
	return shorten(name, validation.DNS1123LabelMaxLength, func(r rune) (rune, bool) {
		r = unicode.ToLower(r)
		return r, r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-'
	})
}
