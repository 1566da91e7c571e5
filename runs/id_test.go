package runs

import (
	"regexp"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func TestRunIDsAreReadableSortableDNSLabels(t *testing.T) {
	g := NewWithT(t)
	base := time.Date(2026, 11, 28, 21, 5, 1, 0, time.UTC)
	var ids []string
	for i := range 50 {
		ids = append(ids, NewID(base.Add(time.Duration(i)*time.Second)))
	}
	g.Expect(ids[0]).To(HavePrefix("20261128-210501-"))
	g.Expect(slices.IsSorted(ids)).To(BeTrue(), "ids made later sort later")
	for _, id := range ids {
		g.Expect(id).To(MatchRegexp(dns1123Label.String()))
		g.Expect(id).To(HaveLen(IDLen))
		g.Expect(ValidID(id)).To(BeTrue())
	}
	// A pod name sandbox-{run}-{repo} stays within 63 characters for repo
	// names up to 34 characters without shortening.
	g.Expect(len("sandbox-" + ids[0] + "-")).To(BeNumerically("<=", 63-34))
	// Local time zones do not leak into ids.
	g.Expect(NewID(base.In(time.FixedZone("X", 5*3600)))).To(HavePrefix("20261128-210501-"))
}
