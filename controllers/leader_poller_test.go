package controllers

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/intake"
)

// The poller is a leader-only runnable: this proves the manager's leader
// election keeps it to one replica and hands it over when the leader stops.

// countingTracker is a tracker whose polls are counted and find nothing.
type countingTracker struct {
	trackers.Tracker
	polls atomic.Int64
}

func (c *countingTracker) Candidates(context.Context) ([]trackers.Ticket, error) {
	c.polls.Add(1)
	return nil, nil
}

func pollingSnapshot(t trackers.Tracker) *trackers.Snapshot {
	return &trackers.Snapshot{
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
	store := newRunStore(t)
	lease := 4 * time.Second

	start := func(name string) (*countingTracker, ctrl.Manager, func()) {
		tr := &countingTracker{}
		mgr, err := ctrl.NewManager(testenv.SharedCluster(t).Config, ctrl.Options{
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
		g.Expect(mgr.Add(intake.NewPoller(trackers.NewCurrent(pollingSnapshot(tr)), intake.StoreRuns(store), testr.New(t).WithName(name), nil))).To(Succeed())
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

// newRunStore is a run store under a prefix of its own on the package's
// redis-server.
func newRunStore(t *testing.T) *runs.Store {
	t.Helper()
	store, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: "poller:" + t.Name() + ":"})
	if err != nil {
		t.Fatal(err)
	}
	return store
}
