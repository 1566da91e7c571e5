package runs

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// startRun submits ticket n and takes it as owner.
func startRun(t testing.TB, s *Store, n int, owner string) Run {
	t.Helper()
	return startLease(t, s, n, owner).Run()
}

// startLease submits ticket n and takes it as owner, returning the lease.
func startLease(t testing.TB, s *Store, n int, owner string) *Lease {
	t.Helper()
	submit(t, s, n)
	l, err := s.Dequeue(ctxT(t), Owner{Name: owner})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// finalized plays the finalizer for run id: the ticket claim goes.
func finalized(t testing.TB, s *Store, id string) {
	t.Helper()
	ctx := ctxT(t)
	for {
		e, ok, err := s.NextFinalize(ctx, "finalizer-test")
		if err != nil || !ok {
			t.Fatalf("no finalize entry for run %s: %v", id, err)
		}
		if err := s.Finalized(ctx, e, FinalizeDone, ""); err != nil {
			t.Fatal(err)
		}
		if e.RunID == id {
			return
		}
	}
}

func TestParkedRunKeepsItsTicketAndResumesAsTheSameRun(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	run := startRun(t, s, 1, "replica-a")
	_, err := s.Apply(ctx, run.ID, EventReady, Update{Fence: run.Fence})
	g.Expect(err).NotTo(HaveOccurred())
	parked, err := s.Apply(ctx, run.ID, EventAwaitInput, Update{Fence: run.Fence, Step: "plan", StatusCommentID: "c-17", QuestionsCommentID: "c-18"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(parked.State).To(Equal(StateAwaitingInput))

	// Out of the queue, not owned, not expiring, ticket still claimed.
	g.Expect(rdb.XLen(ctx, s.queueKey()).Val()).To(BeZero())
	pending, err := rdb.XPending(ctx, s.queueKey(), group).Result()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pending.Count).To(BeZero())
	g.Expect(rdb.Exists(ctx, s.heartbeatKey(run.ID)).Val()).To(BeZero())
	g.Expect(rdb.PTTL(ctx, s.runKey(run.ID)).Val()).To(BeNumerically("<", 0), "no expiry while parked")
	again, err := s.Submit(ctx, ticket(1))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(Equal(SubmitResult{Outcome: OutcomeTicketActive, RunID: run.ID}))
	g.Expect(s.Heartbeat(ctx, run.ID, run.Fence, "replica-a")).To(MatchError(ErrLeaseLost))
	g.Expect(s.ActiveRun(ctx, run.Tracker, run.Ticket)).To(Equal(run.ID), "a parked run keeps the ticket")

	resumed, err := s.Resume(ctx, run.ID, Answer{Text: "use the v2 API", Author: "carol"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resumed).To(And(HaveField("State", StateQueued), HaveField("Attempt", 2)))

	nextLease, err := s.Dequeue(ctx, Owner{Name: "replica-b"})
	g.Expect(err).NotTo(HaveOccurred())
	next := nextLease.Run()
	g.Expect(next).To(And(HaveField("ID", run.ID), HaveField("Attempt", 2), HaveField("StatusCommentID", "c-17"),
		HaveField("QuestionsCommentID", "c-18")), "the run's own comments are remembered across attempts")
	g.Expect(next.Answer).To(Equal(Answer{Text: "use the v2 API", Author: "carol"}))
	_, err = s.Resume(ctx, run.ID, Answer{})
	g.Expect(err).To(MatchError(ErrIllegalTransition), "only a parked run resumes")
}

func TestFinishedRunsReleaseTheTicketOnceFinalizedAndExpire(t *testing.T) {
	const retention = time.Hour
	for _, tc := range []struct {
		name string
		path []Event
		want State
	}{
		{"succeeded", []Event{EventProvision, EventReady, EventPublish, EventSucceed}, StateSucceeded},
		{"failed", []Event{EventReady, EventFail}, StateFailed},
		{"cancelled while running", []Event{EventReady, EventCancel}, StateCancelled},
		{"cancelled while parked", []Event{EventReady, EventAwaitInput, EventCancel}, StateCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			s, rdb := newStore(t, Options{Retention: retention})
			ctx := ctxT(t)
			run := startRun(t, s, 1, "replica-a")
			g.Expect(s.AppendProgress(ctx, run.ID, "plan", "planning")).To(Succeed())
			var last Run
			for _, ev := range tc.path {
				var err error
				last, err = s.Apply(ctx, run.ID, ev, Update{Fence: run.Fence})
				g.Expect(err).NotTo(HaveOccurred(), string(ev))
			}
			g.Expect(last.State).To(Equal(tc.want))
			g.Expect(last.FinishedAt).To(BeTemporally("~", time.Now(), time.Minute))

			for _, key := range []string{s.runKey(run.ID), s.eventsKey(run.ID)} {
				ttl := rdb.PTTL(ctx, key).Val()
				g.Expect(ttl).To(And(BeNumerically(">", retention-time.Minute), BeNumerically("<=", retention)), key)
			}
			g.Expect(rdb.Exists(ctx, s.heartbeatKey(run.ID)).Val()).To(BeZero())
			g.Expect(rdb.XLen(ctx, s.queueKey()).Val()).To(BeZero())
			g.Expect(last.Finalize).To(Equal(FinalizePending))
			busy, err := s.Submit(ctx, ticket(1))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(busy).To(Equal(SubmitResult{Outcome: OutcomeTicketActive, RunID: run.ID}),
				"the claim is kept until the ticket was told how the run ended")
			finalized(t, s, run.ID)
			g.Expect(rdb.Exists(ctx, s.ticketKey("github", "acme/shop#1")).Val()).To(BeZero())
			done, err := s.Get(ctx, run.ID)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(done.Finalize).To(Equal(FinalizeDone))
			// A progress line after the end does not outlive the run.
			g.Expect(s.AppendProgress(ctx, run.ID, "", "comment posted")).To(Succeed())
			g.Expect(rdb.PTTL(ctx, s.eventsKey(run.ID)).Val()).To(BeNumerically(">", 0))

			listed, err := s.List(ctx, tc.want, 10)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(listed).To(ConsistOf(HaveField("ID", run.ID)))
			res, err := s.Submit(ctx, ticket(1))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.Outcome).To(Equal(OutcomeQueued), "the ticket can be worked again")
			_, err = s.Apply(ctx, run.ID, EventCancel, Update{})
			g.Expect(err).To(MatchError(ErrIllegalTransition))
		})
	}
}

func TestFinishedRunsDisappearAfterRetention(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{Retention: 200 * time.Millisecond})
	ctx := ctxT(t)
	old := submit(t, s, 1)
	g.Expect(s.AppendProgress(ctx, old, "", "queued")).To(Succeed())
	_, err := s.Apply(ctx, old, EventCancel, Update{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func() int64 { return rdb.Exists(ctx, s.runKey(old), s.eventsKey(old)).Val() }).
		WithTimeout(5 * time.Second).Should(BeZero())
	_, err = s.Get(ctx, old)
	g.Expect(err).To(MatchError(ErrNotFound))

	// The next run to finish prunes the expired one from the state index.
	next := submit(t, s, 2)
	_, err = s.Apply(ctx, next, EventCancel, Update{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rdb.ZRange(ctx, s.indexKey(StateCancelled), 0, -1).Val()).To(Equal([]string{next}))
}

func TestStoreRejectsIllegalTransitionsNamingStateAndEvent(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	id := submit(t, s, 1)
	for _, ev := range []Event{EventSucceed, EventProvision} {
		_, err := s.Apply(ctx, id, ev, Update{})
		g.Expect(err).To(MatchError(ContainSubstring("owner event without a fence")), string(ev))
	}
	_, err := s.Apply(ctx, id, EventProvision, Update{Fence: 1})
	g.Expect(err).To(MatchError(ErrLeaseLost), "a queued run has no owner")
	_, err = s.Apply(ctx, id, EventSucceed, Update{Fence: 1})
	g.Expect(err).To(MatchError(ErrLeaseLost), "a queued run has no owner")
	_, err = s.Apply(ctx, id, EventFail, Update{})
	g.Expect(err).To(MatchError(ErrIllegalTransition))
	_, err = s.Apply(ctx, id, EventResume, Update{})
	g.Expect(err).To(MatchError(ErrIllegalTransition))
	g.Expect(err.Error()).To(And(ContainSubstring(`"resume"`), ContainSubstring(`"queued"`)))
	_, err = s.Apply(ctx, id, EventPublish, Update{Fence: 7})
	g.Expect(err).To(MatchError(ErrLeaseLost))
	run, err := s.Get(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(run.State).To(Equal(StateQueued), "nothing changed")

	for _, ev := range []Event{EventStart, EventRetry, "explode"} {
		_, err = s.Apply(ctx, id, ev, Update{})
		g.Expect(err).To(HaveOccurred(), string(ev))
	}
	_, err = s.Apply(ctx, "20260101-000000-none", EventCancel, Update{})
	g.Expect(err).To(MatchError(ErrNotFound))
}

func TestConcurrentTransitionsApplyOnce(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	run := startRun(t, s, 1, "replica-a")
	// Twenty racing writers: one sandbox-ready report wins, the rest see the
	// state already moved.
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.Apply(ctx, run.ID, EventReady, Update{Fence: run.Fence})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		g.Expect(err).To(MatchError(ErrIllegalTransition))
	}
	g.Expect(won).To(Equal(1))
}

func TestNotifySeesEveryTransition(t *testing.T) {
	g := NewWithT(t)
	var mu sync.Mutex
	var seen []string
	s, _ := newStore(t, Options{Notify: func(r Run) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, string(r.State)+"/"+strconv.Itoa(r.Attempt))
	}})
	ctx := ctxT(t)
	run := startRun(t, s, 1, "replica-a")
	_, err := s.HandBack(ctx, run.ID, run.Fence)
	g.Expect(err).NotTo(HaveOccurred())
	lease, err := s.Dequeue(ctx, Owner{Name: "replica-b"})
	g.Expect(err).NotTo(HaveOccurred())
	run = lease.Run()
	_, err = s.Update(ctx, run.ID, Update{Fence: run.Fence, Step: "plan"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(finish(ctx, s, run)).To(Succeed())
	_, err = s.Apply(ctx, run.ID, EventCancel, Update{})
	g.Expect(err).To(HaveOccurred())

	g.Expect(seen).To(Equal([]string{
		"queued/1", "starting/1", "queued/2", "starting/2",
		"running/2", "publishing/2", "succeeded/2",
	}), "one call per transition, none for plain updates or refused transitions")
}

func TestUpdateMergesFieldsAndAddsUsage(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	run := startRun(t, s, 1, "replica-a")
	for _, u := range []Update{
		{Fence: run.Fence, Step: "plan", AddUsage: Usage{InputTokens: 1200, OutputTokens: 300, CostUSD: 0.25}, TicketTitle: "Checkout fails on Safari"},
		{Fence: run.Fence, PullRequests: map[string]string{"shop-api": "https://github.com/acme/shop-api/pull/3"}, Answer: &Answer{Text: "yes", Author: "carol"}},
		{Fence: run.Fence, Questions: &Questions{Asked: []string{"Which API?", "Keep\nthe old one?"}, Round: 2}},
		{Fence: run.Fence, PullRequests: map[string]string{"shop-web": "https://github.com/acme/shop-web/pull/9"}, AddUsage: Usage{InputTokens: 800, OutputTokens: 200, CostUSD: 0.5}},
	} {
		_, err := s.Update(ctx, run.ID, u)
		g.Expect(err).NotTo(HaveOccurred())
	}
	got, err := s.Get(ctx, run.ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Step).To(Equal("plan"), "an empty field leaves the value alone")
	g.Expect(got.TicketTitle).To(Equal("Checkout fails on Safari"))
	g.Expect(got.Usage).To(Equal(Usage{InputTokens: 2000, OutputTokens: 500, CostUSD: 0.75}))
	g.Expect(got.PullRequests).To(Equal(map[string]string{
		"shop-api": "https://github.com/acme/shop-api/pull/3",
		"shop-web": "https://github.com/acme/shop-web/pull/9",
	}))
	g.Expect(got.Questions).To(Equal(Questions{Asked: []string{"Which API?", "Keep the old one?"}, Round: 2}), "one line per question")
	g.Expect(got.Answer).To(BeZero(), "new questions clear the earlier answer")
	g.Expect(got.State).To(Equal(StateStarting))
}

func TestProgressIsCappedAndReadInOrder(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{EventLimit: 5})
	ctx := ctxT(t)
	id := submit(t, s, 1)
	for i := range 8 {
		g.Expect(s.AppendProgress(ctx, id, "test", "line "+strconv.Itoa(i))).To(Succeed())
	}
	lines, err := s.Events(ctx, id, "", 100)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(lines).To(HaveLen(5))
	g.Expect(lines[0].Message).To(Equal("line 3"))
	g.Expect(lines[4]).To(And(HaveField("Message", "line 7"), HaveField("Step", "test")))
	g.Expect(lines[4].Time).To(BeTemporally("~", time.Now(), time.Minute))
	after, err := s.Events(ctx, id, lines[2].ID, 100)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(after).To(HaveExactElements(HaveField("Message", "line 6"), HaveField("Message", "line 7")))
	g.Expect(s.AppendProgress(ctx, "20260101-000000-none", "", "x")).To(MatchError(ErrNotFound))
}

func TestStaleListsActiveRunsWithoutHeartbeat(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{HeartbeatTTL: 200 * time.Millisecond})
	ctx := ctxT(t)
	dead := startRun(t, s, 1, "replica-dead")
	live := startLease(t, s, 2, "replica-live")
	submit(t, s, 3) // queued runs have no heartbeat and are not stale

	alive, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = live.Keep(alive) }()
	g.Eventually(func() ([]Run, error) { return s.Stale(ctx) }).WithTimeout(5 * time.Second).
		Should(ConsistOf(And(HaveField("ID", dead.ID), HaveField("Owner.Name", "replica-dead"))))
	active, err := s.List(ctx, StateStarting, 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(active).To(HaveLen(2))
}

func TestLeaseKeepStopsWhenTheRunIsCancelledElsewhere(t *testing.T) {
	g := NewWithT(t)
	opts := Options{HeartbeatTTL: 300 * time.Millisecond}
	s, _ := newStore(t, opts)
	opts.Prefix = s.opts.Prefix
	other, _ := newStore(t, opts) // another replica: no in-process revoke
	ctx := ctxT(t)
	lease := startLease(t, s, 1, "replica-a")
	work := lease.Bind(ctx)
	kept := make(chan error, 1)
	go func() { kept <- lease.Keep(ctx) }()
	_, err := other.Apply(ctx, lease.Run().ID, EventCancel, Update{Error: "cancelled by user"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(kept).WithTimeout(5 * time.Second).Should(Receive(MatchError(ErrLeaseLost)))
	g.Expect(context.Cause(work)).To(MatchError(ErrLeaseLost), "the run's work is cancelled with the reason")
}

func TestNewStoreRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{DeliveryTTL: time.Hour}, "delivery TTL"},
		{Options{MaxAttempts: -1}, "max attempts"},
		{Options{Retention: -time.Second}, "retention"},
		{Options{EventLimit: -5}, "event limit"},
		{Options{HeartbeatTTL: time.Microsecond}, "heartbeat TTL"},
	} {
		_, err := NewStore(server(t).Client(t), tc.opts)
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.want)))
	}
}

func TestCountTellsHowManyRunsWaitOrWorkByState(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	submit(t, s, 1)
	submit(t, s, 2)
	running := startRun(t, s, 3, "replica-a")
	_, err := s.Apply(ctx, running.ID, EventReady, Update{Fence: running.Fence})
	g.Expect(err).NotTo(HaveOccurred())
	done := startRun(t, s, 4, "replica-a")
	_, err = s.Apply(ctx, done.ID, EventFail, Update{Fence: done.Fence, Error: "tests failed"})
	g.Expect(err).NotTo(HaveOccurred())

	counts, err := s.Count(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(counts).To(Equal(map[State]int64{
		StateQueued: 2, StateStarting: 0, StateProvisioning: 0, StateRunning: 1, StatePublishing: 0, StateAwaitingInput: 0,
	}))
}
