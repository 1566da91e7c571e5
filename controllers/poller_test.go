package controllers

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/intake"
)

// countingTracker is a tracker whose polls are counted and find nothing.
type countingTracker struct {
	trackers.Tracker
	polls atomic.Int64
}

func (c *countingTracker) Candidates(context.Context) ([]trackers.Ticket, error) {
	c.polls.Add(1)
	return nil, nil
}

func pollingSnapshot(t trackers.Tracker) *Snapshot {
	return &Snapshot{
		Config: &config.Config{Trackers: map[string]*config.Tracker{
			"acme": {Type: "github", Polling: config.Polling{Enabled: true, IntervalSeconds: 1, TimeoutSeconds: 5}},
		}},
		Trackers: map[string]trackers.Tracker{"acme": t},
	}
}

func TestOnlyTheLeaderPollsAndAStandbyTakesOverWhenItStops(t *testing.T) {
	g := NewWithT(t)
	c := newClient(t)
	ns := newNamespace(t, c)
	store := newStore(t, rds.URL(), runs.Options{})
	lease := 4 * time.Second

	start := func(name string) (*countingTracker, ctrl.Manager, func()) {
		tr := &countingTracker{}
		mgr, err := ctrl.NewManager(cluster.Config, ctrl.Options{
			Metrics:                       metricsserver.Options{BindAddress: "0"},
			LeaderElection:                true,
			LeaderElectionID:              "agent-smith-leader",
			LeaderElectionNamespace:       ns,
			LeaderElectionReleaseOnCancel: true,
			LeaseDuration:                 &lease,
			RenewDeadline:                 ptr.To(3 * time.Second),
			RetryPeriod:                   ptr.To(200 * time.Millisecond),
		})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(mgr.Add(NewPoller(NewCurrent(pollingSnapshot(tr)), intake.StoreRuns(store), testr.New(t).WithName(name), nil))).To(Succeed())
		return tr, mgr, startManager(t, mgr)
	}
	a, mgrA, stopA := start("a")
	g.Eventually(mgrA.Elected()).WithTimeout(30 * time.Second).Should(BeClosed())
	b, _, _ := start("b")

	g.Eventually(a.polls.Load).WithTimeout(10 * time.Second).Should(BeNumerically(">=", 2))
	g.Consistently(b.polls.Load).WithTimeout(2*time.Second).Should(BeZero(), "a standby never polls")

	stopA()
	stoppedAt := a.polls.Load()
	g.Eventually(b.polls.Load).WithTimeout(lease).Should(BeNumerically(">=", 1), "the standby polls within one lease duration")
	g.Expect(a.polls.Load()).To(Equal(stoppedAt), "a stopped leader polls no more")
}

// stuckTracker is a tracker whose polls hang until they are cut off.
type stuckTracker struct {
	trackers.Tracker
	cut atomic.Int64
}

func (s *stuckTracker) Candidates(ctx context.Context) ([]trackers.Ticket, error) {
	<-ctx.Done()
	s.cut.Add(1)
	return nil, ctx.Err()
}

func TestAHungPollIsCutOffAtItsTimeoutAndPollingGoesOn(t *testing.T) {
	g := NewWithT(t)
	tr := &stuckTracker{}
	snap := pollingSnapshot(tr)
	snap.Config.Trackers["acme"].Polling.TimeoutSeconds = 1
	p := NewPoller(NewCurrent(snap), intake.StoreRuns(newStore(t, rds.URL(), runs.Options{})), testr.New(t), prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	g.Eventually(tr.cut.Load).WithTimeout(20*time.Second).Should(BeNumerically(">=", 2), "polls cut off, and polled again")
	g.Expect(counterValue(p.polls.WithLabelValues("acme", "error"))).To(BeNumerically(">=", 2))
}

func TestJitterSpreadsTheIntervalWithinItsPercent(t *testing.T) {
	const d = 10 * time.Second
	for _, tc := range []struct {
		percent  int
		min, max time.Duration
	}{
		{0, d, d},
		{-5, d, d},
		{10, 9 * time.Second, 11 * time.Second},
		{50, 5 * time.Second, 15 * time.Second},
	} {
		g := NewWithT(t)
		seen := map[time.Duration]bool{}
		for range 200 {
			w := jitter(d, tc.percent)
			g.Expect(w).To(And(BeNumerically(">=", tc.min), BeNumerically("<=", tc.max)), "percent %d", tc.percent)
			seen[w] = true
		}
		if tc.min != tc.max {
			g.Expect(len(seen)).To(BeNumerically(">", 1), "percent %d spreads the waits", tc.percent)
		}
	}
}
