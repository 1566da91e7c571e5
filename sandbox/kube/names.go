package kube

import (
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"
)

// PodName is the name of the sandbox pod of repo in run runID:
// sandbox-{run}-{repo}. It is the same for every attempt of the run, so a
// duplicate create is AlreadyExists rather than a twin. A result that would
// not be a DNS-1123 label of at most 63 characters (a long or unusual repo
// name) is lowercased, cut short and ends in a hash of the full name.
func PodName(runID, repo string) string {
	name := "sandbox-" + runID + "-" + repo
	if len(validation.IsDNS1123Label(name)) == 0 {
		return name
	}
	return shorten(name, validation.DNS1123LabelMaxLength, func(r rune) (rune, bool) {
		r = unicode.ToLower(r)
		return r, r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-'
	})
}
