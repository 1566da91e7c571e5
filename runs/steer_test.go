package runs

import (
	"errors"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestCancelEndsAnUnfinishedRunAndItsOwnerSeesIt(t *testing.T) {
	for _, from := range []State{StateQueued, StateRunning, StateAwaitingInput} {
		t.Run(string(from), func(t *testing.T) {
			g := NewWithT(t)
			s, rdb := newStore(t, Options{})
			ctx := ctxT(t)
			var id string
			var fence int64
			if from == StateQueued {
				id = submit(t, s, 1)
			} else {
				run := startRun(t, s, 1, "replica-a")
				id, fence = run.ID, run.Fence
				_, err := s.Apply(ctx, id, EventReady, Update{Fence: fence})
				g.Expect(err).NotTo(HaveOccurred())
				if from == StateAwaitingInput {
					_, err = s.Apply(ctx, id, EventAwaitInput, Update{Fence: fence})
					g.Expect(err).NotTo(HaveOccurred())
				}
			}
			got, err := s.Cancel(ctx, id, "alice", "wrong repository")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got.State).To(Equal(StateCancelled))
			g.Expect(got.Cancel).To(And(HaveField("By", "alice"), HaveField("Reason", "wrong repository")))
			g.Expect(got.Cancel.At).To(BeTemporally("~", time.Now(), time.Minute))
			g.Expect(rdb.Exists(ctx, s.ticketKey("github", "acme/shop#1")).Val()).To(BeNumerically("==", 1), "the ticket is held until it is told")
			finalized(t, s, id)
			g.Expect(rdb.Exists(ctx, s.ticketKey("github", "acme/shop#1")).Val()).To(BeZero(), "the ticket is free")
			g.Expect(rdb.XLen(ctx, s.queueKey()).Val()).To(BeZero(), "nothing left to dequeue")

			err = s.Heartbeat(ctx, id, fence, "replica-a")
			g.Expect(err).To(MatchError(ErrCancelled))
			g.Expect(err).To(MatchError(ErrLeaseLost), "an owner that stops on a lost lease stops on a cancel")
			_, err = s.Cancel(ctx, id, "bob", "")
			g.Expect(err).To(MatchError(ErrIllegalTransition), "a finished run cannot be cancelled")
		})
	}
}

func TestRestartQueuesAFailedRunAsItsNextAttempt(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{Retention: time.Hour, BlockTimeout: 50 * time.Millisecond})
	ctx := ctxT(t)
	run := startRun(t, s, 1, "replica-a")
	_, err := s.Apply(ctx, run.ID, EventFail, Update{Fence: run.Fence, Error: "tests failed"})
	g.Expect(err).NotTo(HaveOccurred())

	_, err = s.Restart(ctx, run.ID, "alice")
	g.Expect(err).To(MatchError(ErrFinalizing), "not before the ticket was told of the failure")
	finalized(t, s, run.ID)
	got, err := s.Restart(ctx, run.ID, "alice")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.State).To(Equal(StateQueued))
	g.Expect(got.Finalize).To(BeEmpty(), "the next end is finalized afresh")
	g.Expect(got.Attempt).To(Equal(2))
	g.Expect(got.Error).To(BeEmpty())
	g.Expect(got.FinishedAt).To(BeZero())
	for _, key := range []string{s.runKey(run.ID), s.eventsKey(run.ID)} {
		g.Expect(rdb.PTTL(ctx, key).Val()).To(Equal(time.Duration(-1)), "%s no longer expires", key)
	}
	g.Expect(s.ActiveRun(ctx, "github", "acme/shop#1")).To(Equal(run.ID), "the run holds its ticket again")
	again, err := s.Dequeue(ctx, Owner{Name: "replica-b"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.Run()).To(And(HaveField("ID", run.ID), HaveField("Attempt", 2)))

	log, err := s.Events(ctx, run.ID, "", 0)
	g.Expect(err).NotTo(HaveOccurred())
	var states []string
	for _, e := range log {
		if e.State != nil {
			states = append(states, string(e.State.To)+"/"+e.State.By+"/"+e.State.Error+"/"+strconv.Itoa(e.State.Attempt))
		}
	}
	g.Expect(states).To(Equal([]string{
		"queued///1", "starting///1", "failed//tests failed/1", "queued/alice//2", "starting///2",
	}), "the log keeps the first attempt's story")
}

func TestRestartIsRefusedForUnfinishedRunsAndBusyTickets(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	running := startRun(t, s, 1, "replica-a")
	_, err := s.Restart(ctx, running.ID, "alice")
	var te *TransitionError
	g.Expect(errors.As(err, &te)).To(BeTrue(), "%v", err)
	g.Expect(te.From).To(Equal(StateStarting))

	_, err = s.Cancel(ctx, running.ID, "alice", "")
	g.Expect(err).NotTo(HaveOccurred())
	finalized(t, s, running.ID)
	newer := submit(t, s, 1) // the ticket is worked again meanwhile
	_, err = s.Restart(ctx, running.ID, "alice")
	var busy *TicketActiveError
	g.Expect(errors.As(err, &busy)).To(BeTrue(), "%v", err)
	g.Expect(busy).To(Equal(&TicketActiveError{Ticket: "acme/shop#1", RunID: newer}))

	_, err = s.Restart(ctx, "20260101-000000-none", "alice")
	g.Expect(err).To(MatchError(ErrNotFound))
	_, err = s.Apply(ctx, running.ID, EventRestart, Update{})
	g.Expect(err).To(MatchError(ContainSubstring("applied by Restart")))
}
