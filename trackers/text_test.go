package trackers

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestAppendReferenceAddsTheReferenceOnce(t *testing.T) {
	for _, tc := range []struct{ body, ref, want string }{
		{"", "Fixes #7", "Fixes #7"},
		{"Adds the numbers.", "Fixes #7", "Adds the numbers.\n\nFixes #7"},
		{"Adds the numbers.\n\nfixes #7", "Fixes #7", "Adds the numbers.\n\nfixes #7"},
	} {
		NewWithT(t).Expect(AppendReference(tc.body, tc.ref)).To(Equal(tc.want), "%q", tc.body)
	}
}
