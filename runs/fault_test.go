package runs

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// storeOn is a store on addr under prefix, with a client whose timeouts are
// scaled to ttl like the product's 3s defaults to its 30s TTL.
func storeOn(t testing.TB, addr, prefix string, ttl time.Duration) *Store {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: ttl / 10, ReadTimeout: ttl / 10, WriteTimeout: ttl / 10})
	t.Cleanup(func() { _ = c.Close() })
	s, err := NewStore(c, Options{Prefix: prefix, HeartbeatTTL: ttl, BlockTimeout: ttl / 10})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFaultLostStartGivesTheNextOwnerANewFence(t *testing.T) {
	g := NewWithT(t)
	r := testenv.OwnRedis(t, testenv.WithAOF("everysec"))
	ctx := ctxT(t)
	a := storeOn(t, r.Addr, "f:", 3*time.Second)
	b := storeOn(t, r.Addr, "f:", 3*time.Second)
	id := submit(t, a, 1)
	beforeStart, err := r.AOFSize()
	g.Expect(err).NotTo(HaveOccurred())

	leaseA, err := a.Dequeue(ctx, Owner{Name: "replica-a"})
	g.Expect(err).NotTo(HaveOccurred())
	defer leaseA.Close()
	// The node crashes: what was written since the start but not fsynced
	// is lost, the start among it.
	r.Kill()
	g.Expect(r.TruncateAOF(beforeStart)).To(Succeed())
	g.Expect(r.Start()).To(Succeed())

	lost, err := b.Get(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(lost).To(And(HaveField("State", StateQueued), HaveField("Attempt", 1)), "the start is gone")
	leaseB, err := b.Dequeue(ctx, Owner{Name: "replica-b"})
	g.Expect(err).NotTo(HaveOccurred())
	defer leaseB.Close()
	runB := leaseB.Run()
	g.Expect(runB).To(And(HaveField("ID", id), HaveField("Attempt", 1)), "the same attempt, started again")
	g.Expect(runB.Fence).To(BeNumerically(">", leaseA.Fence()), "yet a new fence: Redis's clock moved on")

	g.Expect(a.Heartbeat(ctx, id, leaseA.Fence(), "replica-a")).To(MatchError(ErrLeaseLost))
	_, err = a.Update(ctx, id, Update{Fence: leaseA.Fence(), Step: "plan"})
	g.Expect(err).To(MatchError(ErrLeaseLost))
	g.Expect(leaseA.Guard(ctx)).To(MatchError(ErrLeaseLost))
	g.Expect(leaseA.Record(ctx, Entry{Kind: KindNote, Step: "plan", Message: "stale line"})).To(MatchError(ErrLeaseLost))
	g.Expect(leaseB.Guard(ctx)).To(Succeed())
}

func TestHeartbeatOfAnotherOwnerWithTheSameFenceIsLost(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	run := startRun(t, s, 1, "replica-a")
	g.Expect(s.Heartbeat(ctx, run.ID, run.Fence, "replica-b")).To(MatchError(ErrLeaseLost))
	g.Expect(s.Heartbeat(ctx, run.ID, run.Fence+1, "replica-a")).To(MatchError(ErrLeaseLost))
	g.Expect(s.Heartbeat(ctx, run.ID, run.Fence, "replica-a")).To(Succeed())
}

func TestLostReadyTransitionStillPublishesAndSucceeds(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	// The owner applied ready and publish; Redis lost both with its last
	// second. Its next events, fenced, still apply.
	run := startRun(t, s, 1, "replica-a")
	published, err := s.Apply(ctx, run.ID, EventPublish, Update{Fence: run.Fence})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(published.State).To(Equal(StatePublishing))
	other := startRun(t, s, 2, "replica-a")
	done, err := s.Apply(ctx, other.ID, EventSucceed, Update{Fence: other.Fence})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(done.State).To(Equal(StateSucceeded))
	_, err = s.Apply(ctx, other.ID, EventSucceed, Update{})
	g.Expect(err).To(MatchError(ContainSubstring("owner event without a fence")))
}

func TestReclaimWaitsOneTTLAfterARestart(t *testing.T) {
	g := NewWithT(t)
	const ttl = 600 * time.Millisecond
	r := testenv.OwnRedis(t, testenv.WithAOF("always"))
	ctx := ctxT(t)
	s := storeOn(t, r.Addr, "r:", ttl)
	run := startRun(t, s, 1, "replica-a")
	r.Kill()
	time.Sleep(ttl) // the outage: the run's heartbeat key lapses meanwhile
	g.Expect(r.Start()).To(Succeed())

	retried := reclaimUntilMoved(g, s)
	epoch := s.rdb.HGetAll(ctx, s.epochKey()).Val()
	g.Expect(epoch).To(HaveKeyWithValue("why", "restart"))
	since, err := parseInt64(epoch["since"])
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(retried.ID).To(Equal(run.ID))
	g.Expect(retried.UpdatedAt.UnixMilli()-since).To(BeNumerically(">=", ttl.Milliseconds()),
		"nothing is reclaimed in the first TTL after the restart (Redis's clock)")
}

func TestReclaimWaitsAfterAnOutage(t *testing.T) {
	g := NewWithT(t)
	const ttl = 600 * time.Millisecond
	r := testenv.OwnRedis(t)
	ctx := ctxT(t)
	s := storeOn(t, r.Addr, "o:", ttl)
	run := startRun(t, s, 1, "replica-a")
	g.Expect(r.Pause()).To(Succeed())
	time.Sleep(2 * ttl) // the outage
	g.Expect(r.Resume()).To(Succeed())

	retried := reclaimUntilMoved(g, s)
	epoch := s.rdb.HGetAll(ctx, s.epochKey()).Val()
	g.Expect(epoch).To(HaveKeyWithValue("why", "gap"))
	since, err := parseInt64(epoch["since"])
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(retried.ID).To(Equal(run.ID))
	g.Expect(retried.UpdatedAt.UnixMilli() - since).To(BeNumerically(">=", ttl.Milliseconds()))
}

// reclaimUntilMoved reclaims as an idle worker would until a run moves and
// returns it as it is then.
func reclaimUntilMoved(g Gomega, s *Store) Run {
	var moved []Run
	seen := func(r Run) { moved = append(moved, r) }
	s.opts.Notify = seen
	g.Eventually(func() ([]Run, error) {
		_, err := s.Reclaim(context.Background(), "replica-b")
		return moved, err
	}).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).ShouldNot(BeEmpty())
	return moved[0]
}

func TestLeaseExpiresLocallyBeforeRedisLetsAnyoneElseTakeTheRun(t *testing.T) {
	g := NewWithT(t)
	const ttl = 900 * time.Millisecond
	r := server(t)
	proxy, err := testenv.StartProxy(r.Addr)
	g.Expect(err).NotTo(HaveOccurred())
	defer proxy.Close()
	ctx := ctxT(t)
	prefix := "l" + t.Name() + ":"
	cut := storeOn(t, proxy.Addr, prefix, ttl)
	direct := storeOn(t, r.Addr, prefix, ttl)
	lease := startLease(t, cut, 1, "replica-a")
	work := lease.Bind(ctx)
	go func() { _ = lease.Keep(ctx) }()

	proxy.Blackhole()
	defer proxy.Restore()
	g.Eventually(work.Done()).WithTimeout(5 * time.Second).Should(BeClosed())
	g.Expect(context.Cause(work)).To(MatchError(ErrLeaseExpired))
	g.Expect(direct.rdb.PTTL(ctx, direct.heartbeatKey(lease.Run().ID)).Val()).To(BeNumerically(">", 0),
		"the owner stopped while Redis still holds its heartbeat: nobody else can have the run yet")
	g.Expect(lease.Guard(ctx)).To(MatchError(ErrLeaseExpired))
	proxy.Restore()
	g.Expect(lease.Guard(ctx)).To(MatchError(ErrLeaseExpired), "an expired lease stays expired")
}

func TestLeaseRevokedWhenTheSameStoreEndsTheRun(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	lease := startLease(t, s, 1, "replica-a")
	work := lease.Bind(ctx)
	run := lease.Run()

	// A stale writer (behind the run's start) changes nothing.
	_, err := s.Apply(ctx, run.ID, EventFail, Update{Fence: run.Fence - 1, Error: "old pod"})
	g.Expect(err).To(MatchError(ErrLeaseLost))
	g.Expect(work.Err()).NotTo(HaveOccurred())

	// The sandbox reconciler of this replica fails the run: the worker's
	// work stops at once, not at its next heartbeat.
	_, err = s.Apply(ctx, run.ID, EventFail, Update{Fence: run.Fence, Error: "pod cannot be built"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(work.Done()).To(BeClosed())
	g.Expect(context.Cause(work)).To(MatchError(ErrLeaseLost))
	g.Expect(lease.Guard(ctx)).To(MatchError(ErrLeaseLost))
}

func TestParkedRunsExpireAndAreLeftToTheFinalizer(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	old := startRun(t, s, 1, "replica-a")
	_, err := s.Apply(ctx, old.ID, EventAwaitInput, Update{Fence: old.Fence})
	g.Expect(err).NotTo(HaveOccurred())
	// Parked an hour ago as far as the index says.
	g.Expect(rdb.ZAdd(ctx, s.indexKey(StateAwaitingInput), redis.Z{Score: float64(time.Now().Add(-time.Hour).UnixMilli()), Member: old.ID}).Err()).To(Succeed())
	recent := startRun(t, s, 2, "replica-a")
	_, err = s.Apply(ctx, recent.ID, EventAwaitInput, Update{Fence: recent.Fence})
	g.Expect(err).NotTo(HaveOccurred())

	expired, err := s.ExpireParked(ctx, 30*time.Minute)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(expired).To(Equal([]string{old.ID}))
	got, err := s.Get(ctx, old.ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(And(HaveField("State", StateCancelled), HaveField("Finalize", FinalizePending),
		HaveField("StoppedFence", old.Fence), HaveField("Outcome.Kind", OutcomeExpired)))
	g.Expect(got.Error).To(Equal("no answer to the questions within 1 hours"))
	still, err := s.Get(ctx, recent.ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(still.State).To(Equal(StateAwaitingInput))
}

func TestFinalizeEntryIsTakenOverWhenItsFinalizerStopsRenewing(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{FinalizeLease: 300 * time.Millisecond, BlockTimeout: 20 * time.Millisecond})
	ctx := ctxT(t)
	run := startRun(t, s, 1, "replica-a")
	_, err := s.Apply(ctx, run.ID, EventFail, Update{Fence: run.Fence, Error: "tests failed"})
	g.Expect(err).NotTo(HaveOccurred())

	e, ok, err := s.NextFinalize(ctx, "finalizer-a")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue())
	g.Expect(e).To(And(HaveField("RunID", run.ID), HaveField("Fence", run.Fence)))
	// While A renews, B finds nothing.
	for range 3 {
		g.Expect(s.KeepFinalizing(ctx, "finalizer-a", e)).To(Succeed())
		_, ok, err = s.NextFinalize(ctx, "finalizer-b")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ok).To(BeFalse())
	}
	// A dies: B takes the entry over once the lease has passed.
	var taken FinalizeEntry
	g.Eventually(func() (bool, error) {
		var err error
		taken, ok, err = s.NextFinalize(ctx, "finalizer-b")
		return ok, err
	}).WithTimeout(5 * time.Second).Should(BeTrue())
	g.Expect(taken).To(Equal(e))
	g.Expect(s.Finalized(ctx, taken, FinalizeGaveUp, "could not set the lifecycle label: 403")).To(Succeed())

	got, err := s.Get(ctx, run.ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(And(HaveField("Finalize", FinalizeGaveUp), HaveField("FinalizeError", "could not set the lifecycle label: 403")))
	g.Expect(rdb.Exists(ctx, s.ticketKey(run.Tracker, run.Ticket)).Val()).To(BeZero(), "the claim goes once the ticket was told")
	g.Expect(rdb.XLen(ctx, s.finalizeKey()).Val()).To(BeZero())
}
