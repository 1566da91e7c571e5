package intake

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
)

func pollingSnapshot(t trackers.Tracker) *trackers.Snapshot {
	return &trackers.Snapshot{
		Config: &config.Config{Trackers: map[string]*config.Tracker{
			"acme": {Type: "github", Polling: config.Polling{Enabled: true, IntervalSeconds: 1, TimeoutSeconds: 5}},
		}},
		Trackers: map[string]trackers.Tracker{"acme": t},
	}
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
	p := NewPoller(trackers.NewCurrent(snap), StoreRuns(pollStore(t)), testr.New(t), prometheus.NewRegistry())
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

// pollStore is a run store under a prefix of its own on the package's
// redis-server.
func pollStore(t *testing.T) *runs.Store {
	t.Helper()
	store, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: "poller:" + t.Name() + ":"})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// counterValue is what counter counts now.
func counterValue(counter prometheus.Counter) float64 {
	m := &dto.Metric{}
	_ = counter.Write(m)
	return m.GetCounter().GetValue()
}
