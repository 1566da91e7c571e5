package runs

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// TestTicketRecordAcceptsOnlyNewTriggers walks one ticket through the
// per-ticket rules of submit.lua: a trigger placed by a Mark is new only
// when its Seq is newer than the ones seen (or the same Seq with another
// Key); a trigger without one only when the ticket's content changed.
// Triggers that arrive while a run is active are used up.
func TestTicketRecordAcceptsOnlyNewTriggers(t *testing.T) {
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	n := 0
	hook := func(key string, seq int64) Submission {
		n++
		sub := ticket(1)
		sub.DeliveryID, sub.BodyDigest = fmt.Sprintf("d-%d", n), fmt.Sprintf("%064x", n)
		sub.TriggerKey, sub.TriggerSeq, sub.Digest = key, seq, "digest-v1"
		return sub
	}
	poll := func(digest string) Submission {
		sub := ticket(1)
		sub.TriggerKey, sub.Digest = "poll", digest
		return sub
	}
	var last string
	end := func(ev Event) {
		t.Helper()
		_, err := s.Apply(ctx, last, ev, Update{Error: "ended by the test"})
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		finalized(t, s, last)
	}
	steps := []struct {
		name  string
		sub   Submission
		want  Outcome
		after func()
	}{
		{"the first trigger", hook("label:agent-smith", 1000), OutcomeQueued, func() { end(EventCancel) }},
		{"the same trigger again, delivered anew", hook("label:agent-smith", 1000), OutcomeNotNew, nil},
		{"an older trigger", hook("label:agent-smith", 900), OutcomeNotNew, nil},
		{"the same Seq, another trigger", hook("comment:5", 1000), OutcomeQueued, nil},
		{"a newer trigger while a run is active", hook("comment:6", 3000), OutcomeTicketActive, func() { end(EventCancel) }},
		{"that trigger again once the run ended: used up", hook("comment:6", 3000), OutcomeNotNew, nil},
		{"a newer trigger", hook("label:agent-smith", 4000), OutcomeQueued, func() { end(EventCancel) }},
		{"a poll of the unchanged ticket", poll("digest-v1"), OutcomeNotNew, nil},
		{"a poll of the edited ticket", poll("digest-v2"), OutcomeQueued, func() { end(EventCancel) }},
		{"the same poll again", poll("digest-v2"), OutcomeNotNew, nil},
		{"a poll without a digest (a caller that has none)", poll(""), OutcomeQueued, nil},
	}
	for _, st := range steps {
		res, err := s.Submit(ctx, st.sub)
		g := NewWithT(t)
		g.Expect(err).NotTo(HaveOccurred(), st.name)
		g.Expect(res.Outcome).To(Equal(st.want), st.name)
		switch res.Outcome {
		case OutcomeQueued:
			g.Expect(res.RunID).NotTo(Equal(last), st.name)
			last = res.RunID
		case OutcomeNotNew:
			g.Expect(res).To(Equal(SubmitResult{Outcome: OutcomeNotNew, RunID: last, LastState: StateCancelled}), st.name)
		}
		if st.after != nil {
			st.after()
		}
	}
	rec := s.ticketRecordKey("github", "acme/shop#1")
	g := NewWithT(t)
	g.Expect(rdb.PTTL(ctx, rec).Val()).To(BeNumerically(">", 89*24*time.Hour), "the record outlives every replay window")
	g.Expect(rdb.HGet(ctx, rec, "seenSeq").Val()).To(Equal("4000"))
}

func TestReplayedBodyUnderAFreshDeliveryIDIsADuplicate(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	g := NewWithT(t)
	first := ticket(1)
	first.DeliveryID, first.BodyDigest = "d-1", fmt.Sprintf("%064x", 1)
	res, err := s.Submit(ctx, first)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Outcome).To(Equal(OutcomeQueued))
	replay := first
	replay.DeliveryID = "d-2"
	again, err := s.Submit(ctx, replay)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(Equal(SubmitResult{Outcome: OutcomeDuplicateDelivery, RunID: res.RunID}))

	// An answer's delivery is claimed by both as well.
	ok, err := s.ClaimDelivery(ctx, "github", "d-3", fmt.Sprintf("%064x", 3))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue())
	ok, err = s.ClaimDelivery(ctx, "github", "d-4", fmt.Sprintf("%064x", 3))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeFalse(), "the same body under another id")
	g.Expect(s.ForgetDelivery(ctx, "github", "d-3", fmt.Sprintf("%064x", 3))).To(Succeed())
	ok, err = s.ClaimDelivery(ctx, "github", "d-4", fmt.Sprintf("%064x", 3))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue(), "forgotten, the retry gets through")
}

// TestTicketCapCountsRunsInARollingWindow: with a cap of 2 the third run of
// a ticket within the window is refused with the time the oldest leaves
// it; the refused trigger is not used up, and is taken once the window
// has room.
func TestTicketCapCountsRunsInARollingWindow(t *testing.T) {
	const window = 2 * time.Second
	s, _ := newStore(t, Options{TicketWindow: window})
	ctx := ctxT(t)
	g := NewWithT(t)
	seq := int64(0)
	next := func() Submission {
		seq++
		sub := ticket(1)
		sub.TriggerKey, sub.TriggerSeq, sub.MaxPerDay = "label:agent-smith", seq, 2
		return sub
	}
	var firstAt time.Time
	for i := range 2 {
		before := time.Now()
		res, err := s.Submit(ctx, next())
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.Outcome).To(Equal(OutcomeQueued))
		if i == 0 {
			firstAt = before
		}
		_, err = s.Apply(ctx, res.RunID, EventCancel, Update{})
		g.Expect(err).NotTo(HaveOccurred())
		finalized(t, s, res.RunID)
	}
	third := next()
	res, err := s.Submit(ctx, third)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Outcome).To(Equal(OutcomeCapped))
	g.Expect(res.Count).To(Equal(2))
	g.Expect(res.RetryAt).To(BeTemporally("~", firstAt.Add(window), time.Second))
	g.Eventually(func() (Outcome, error) {
		r, err := s.Submit(ctx, third)
		return r.Outcome, err
	}).WithTimeout(10*time.Second).WithPolling(100*time.Millisecond).Should(Equal(OutcomeQueued),
		"the same trigger once the oldest run left the window")
}

func TestTerminalTransitionIsRecordedOnTheTicket(t *testing.T) {
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	g := NewWithT(t)
	id := submit(t, s, 1)
	_, err := s.Apply(ctx, id, EventCancel, Update{Error: "closed"})
	g.Expect(err).NotTo(HaveOccurred())
	rec := rdb.HGetAll(ctx, s.ticketRecordKey("github", "acme/shop#1")).Val()
	g.Expect(rec).To(And(HaveKeyWithValue("lastRun", id), HaveKeyWithValue("lastState", "cancelled"), HaveKey("lastEndedAt")))
}

func TestOwnCommentsAreRecordedPerTicket(t *testing.T) {
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	g := NewWithT(t)
	g.Expect(s.RecordOwnComment(ctx, "github", "7", "1001")).To(Succeed())
	own, err := s.OwnComment(ctx, "github", "7", "1001")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(own).To(BeTrue())
	for _, other := range []struct{ ticket, id string }{{"7", "1002"}, {"8", "1001"}, {"7", ""}} {
		own, err := s.OwnComment(ctx, "github", other.ticket, other.id)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(own).To(BeFalse(), "%+v", other)
	}
	g.Expect(rdb.PTTL(ctx, s.ticketOwnKey("github", "7")).Val()).To(BeNumerically(">", 89*24*time.Hour))
}
