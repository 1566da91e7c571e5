package runs

import (
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/sandbox"
)

func TestSweepOrphansDeletesOnlyKeysNoRunAccountsFor(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	p := s.opts.Prefix
	key := func(job, kind string) string { return p + "sandbox:" + job + ":" + kind }

	// active: taken, handed back, taken again (attempt 2).
	first := startRun(t, s, 1, "replica-a")
	_, err := s.HandBack(ctx, first.ID, first.Fence)
	g.Expect(err).NotTo(HaveOccurred())
	lease, err := s.Dequeue(ctx, Owner{Name: "replica-b"})
	g.Expect(err).NotTo(HaveOccurred())
	active := lease.Run()
	g.Expect(active.Attempt).To(Equal(2))
	finished := startRun(t, s, 2, "replica-a")
	_, err = s.Apply(ctx, finished.ID, EventFail, Update{Fence: finished.Fence, Error: "tests failed"})
	g.Expect(err).NotTo(HaveOccurred())
	// finalizing: ended, its ticket not yet told; it keeps its claim.
	finalizing := startRun(t, s, 4, "replica-a")
	_, err = s.Apply(ctx, finalizing.ID, EventFail, Update{Fence: finalizing.Fence, Error: "tests failed"})
	g.Expect(err).NotTo(HaveOccurred())
	finalized(t, s, finished.ID)
	queued := submit(t, s, 3)
	const gone = "20250101-000000-gone"

	keep := []string{
		key(sandbox.JobID(active.ID, "shop-api", 2, active.Fence), "in"),
		key(sandbox.JobID(active.ID, "shop-web", 2, active.Fence), "events"),
		key(sandbox.JobID(active.ID, "shop-web", 2, active.Fence), "heartbeat"),
		s.eventsKey(finished.ID),
		s.eventsKey(queued),
	}
	orphaned := []string{
		key(sandbox.JobID(active.ID, "shop-api", 1, first.Fence), "results"),    // an earlier attempt
		key(sandbox.JobID(active.ID, "shop-api", 2, active.Fence-1), "results"), // a start Redis lost
		key(sandbox.JobID(active.ID, "docs", 2, active.Fence), "in"),            // not a repo of the run
		key(sandbox.JobID(finished.ID, "shop-api", 1, finished.Fence), "in"),    // the run is over
		key(sandbox.JobID(gone, "shop-api", 1, 1), "events"),                    // the run is gone
		key("not-a-job-id", "in"),
		s.eventsKey(gone),
		s.heartbeatKey(gone),
		s.ticketKey("github", "acme/shop#99"),
	}
	for _, key := range slices.Concat(keep, orphaned) {
		if key == s.eventsKey(finished.ID) || key == s.eventsKey(queued) {
			g.Expect(s.AppendProgress(ctx, runIDOf(key, p), "", "line")).To(Succeed())
			continue
		}
		g.Expect(rdb.Set(ctx, key, gone, 0).Err()).To(Succeed())
	}
	g.Expect(rdb.ZAdd(ctx, s.indexKey(StateRunning), redisZ(gone)).Err()).To(Succeed())
	g.Expect(rdb.ZAdd(ctx, s.createdKey(), redisZ(gone)).Err()).To(Succeed())

	known, err := s.Known(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(known.Runs).To(Equal(map[string]State{active.ID: StateStarting, finished.ID: StateFailed, finalizing.ID: StateFailed, queued: StateQueued}))
	g.Expect(known.Jobs).To(Equal(map[string]bool{sandbox.JobID(active.ID, "shop-api", 2, active.Fence): true, sandbox.JobID(active.ID, "shop-web", 2, active.Fence): true}))
	g.Expect(known.Fences).To(Equal(map[string]int64{active.ID: active.Fence}))
	g.Expect(known.Finalizing).To(Equal(map[string]bool{finalizing.ID: true}))

	swept, err := s.SweepOrphans(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(swept.Keys).To(ConsistOf(orphaned))
	g.Expect(swept.IndexEntries).To(Equal(2), "the running index's and the creation index's")
	for _, key := range keep {
		g.Expect(rdb.Exists(ctx, key).Val()).To(BeEquivalentTo(1), key)
	}
	for _, id := range []string{active.ID, finished.ID, queued} {
		_, err := s.Get(ctx, id)
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(rdb.Exists(ctx, s.ticketKey("github", "acme/shop#1"), s.ticketKey("github", "acme/shop#3"),
		s.ticketKey("github", "acme/shop#4"), s.queueKey()).Val()).To(BeEquivalentTo(4), "a run being finalized keeps its claim")

	again, err := s.SweepOrphans(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(Equal(Swept{}), "a second sweep finds nothing")
}

func runIDOf(eventsKey, prefix string) string {
	return eventsKey[len(prefix+"run:") : len(prefix+"run:")+IDLen]
}

func redisZ(member string) redis.Z { return redis.Z{Score: 1, Member: member} }
