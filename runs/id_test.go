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

func TestJobIDRoundTrips(t *testing.T) {
	const run = "20261128-210501-k3x9"
	for _, tc := range []struct {
		repo    string
		attempt int
	}{{"shop", 1}, {"shop-api", 2}, {"Shop.Web_2", 12}, {"a-b-c-1", 3}} {
		job := JobID(run, tc.repo, tc.attempt)
		gotRun, gotRepo, gotAttempt, err := ParseJobID(job)
		g := NewWithT(t)
		g.Expect(err).NotTo(HaveOccurred(), job)
		g.Expect([]any{gotRun, gotRepo, gotAttempt}).To(Equal([]any{run, tc.repo, tc.attempt}), job)
	}
}

func TestParseJobIDRejectsForeignShapes(t *testing.T) {
	for _, job := range []string{
		"",
		"20261128-210501-k3x9",
		"20261128-210501-k3x9-shop",
		"20261128-210501-k3x9--1",
		"20261128-210501-k3x9-shop-0",
		"20261128-210501-k3x9-shop-01",
		"20261128-210501-K3X9-shop-1",
		"2026112-210501-k3x9a-shop-1",
		"agentsmith-sandbox-1234-shop-1",
	} {
		_, _, _, err := ParseJobID(job)
		NewWithT(t).Expect(err).To(HaveOccurred(), job)
	}
}
