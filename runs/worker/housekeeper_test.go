package worker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox"
)

// countingSweeper counts the rounds it is asked to sweep.
type countingSweeper struct{ rounds atomic.Int64 }

func (s *countingSweeper) Sweep(context.Context) error {
	s.rounds.Add(1)
	return nil
}

func TestHousekeeperRecoversRunsOfDeadReplicasAndSweepsWhatNoRunOwns(t *testing.T) {
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	ctx := context.Background()
	opts := fastQueue
	opts.Prefix = "housekeeping:"
	store := newStore(t, testenv.SharedRedis(t).URL(), opts)

	// A replica took a run and died: nothing keeps its heartbeat.
	id := submitRun(t, store, "31")
	taken, err := store.Dequeue(ctx, runs.Owner{Name: "replica-dead"})
	g.Expect(err).NotTo(HaveOccurred())
	defer taken.Close()
	g.Expect(taken.Run().ID).To(Equal(id))
	// A sandbox key of a run that no longer exists.
	orphan := opts.Prefix + "sandbox:" + sandbox.JobID("20250101-000000-gone", "api", 1, 1) + ":in"
	rdb := testenv.SharedRedis(t).Client(t)
	g.Expect(rdb.Set(ctx, orphan, "step", 0).Err()).To(Succeed())

	sweeper := &countingSweeper{}
	h := NewHousekeeper(store, "replica-leader", time.Hour, func() time.Duration { return 14 * 24 * time.Hour }, testr.New(t), sweeper)
	g.Eventually(func() runs.State {
		h.Once(ctx)
		return getRun(g, store, id).State
	}).WithTimeout(20*time.Second).Should(Equal(runs.StateQueued), "the dead replica's run is queued again")
	g.Expect(getRun(g, store, id).Reclaims).To(Equal(1))
	g.Expect(rdb.Exists(ctx, orphan).Val()).To(BeZero(), "the orphaned sandbox key")
	g.Expect(sweeper.rounds.Load()).To(BeNumerically(">=", 1))
}
