package runs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrCancelled is the lease a cancelled run's owner loses: it matches
// ErrLeaseLost too, so an owner that stops on a lost lease stops on a
// cancel, and one that cares can tell the two apart.
var ErrCancelled = fmt.Errorf("%w: the run was cancelled", ErrLeaseLost)

// ErrFinalizing refuses a restart while the ticket is still being told how
// the run's last attempt ended; it is a matter of seconds.
var ErrFinalizing = errors.New("its ticket is still being told how the last attempt ended: retry in a few seconds")

// TicketActiveError refuses a restart: the ticket has another unfinished
// run.
type TicketActiveError struct {
	Ticket string
	RunID  string
}

func (e *TicketActiveError) Error() string {
	return fmt.Sprintf("ticket %s has an unfinished run %s", e.Ticket, e.RunID)
}

// Cancel calls run id off from any unfinished state, on behalf of by for
// reason (both kept on the run and in its log). The run ends at once
// (cancelled, its ticket released, its queue entry retired, its retention
// clock started). Its owner, if a replica works on it, learns it at once:
// the cancel is announced on a channel every replica keeping a lease
// listens to, and should the notice be missed, its next heartbeat fails
// with ErrCancelled. Either way its lease ends with ErrCancelled and it
// stops. A finished run gives a *TransitionError.
func (s *Store) Cancel(ctx context.Context, id, by, reason string) (Run, error) {
	req := CancelRequest{By: by, Reason: reason, At: time.Now()}
	run, err := s.applyBy(ctx, id, EventCancel, Update{cancel: &req}, by)
	if err == nil {
		s.announceCancel(ctx, run)
	}
	return run, err
}

// Restart queues a failed or cancelled run again as its next attempt, on
// behalf of by: it takes its ticket back, its error and cancel request are
// cleared (the log keeps them), its retention clock stops and its lost
// attempts start from zero. Another state gives a *TransitionError; a
// ticket with another unfinished run a *TicketActiveError.
func (s *Store) Restart(ctx context.Context, id, by string) (Run, error) {
	args := append([]any{id, encodePlan(EventRestart)}, Update{restart: true}.fields()...)
	reply, err := s.run(ctx, restartScript, []string{s.runKey(id)}, args...).Result()
	if err != nil {
		return Run{}, fmt.Errorf("restart run %s: %w", id, err)
	}
	st, rest, err := status(reply)
	if err != nil {
		return Run{}, fmt.Errorf("restart run %s: %w", id, err)
	}
	switch st {
	case "missing":
		return Run{}, fmt.Errorf("restart run %s: %w", id, ErrNotFound)
	case "illegal":
		return Run{}, fmt.Errorf("restart run %s: %w", id, &TransitionError{From: State(str(rest, 0)), Event: EventRestart})
	case "finalizing":
		return Run{}, fmt.Errorf("restart run %s: %w", id, ErrFinalizing)
	case "active":
		r, _ := s.Get(ctx, id)
		return Run{}, fmt.Errorf("restart run %s: %w", id, &TicketActiveError{Ticket: r.Ticket, RunID: str(rest, 0)})
	case "ok":
	default:
		return Run{}, fmt.Errorf("restart run %s: unexpected script status %q", id, st)
	}
	run, err := hashReply(rest, 0)
	if err != nil {
		return Run{}, fmt.Errorf("restart run %s: %w", id, err)
	}
	s.log(ctx).Info("run restarted", "run", id, "by", by, "attempt", run.Attempt)
	s.recorded(ctx, run, EventRestart, by)
	return run, nil
}

// lostLease is the error of a lease found lost with the run in state.
func lostLease(state string) error {
	if State(state) == StateCancelled {
		return ErrCancelled
	}
	return ErrLeaseLost
}
