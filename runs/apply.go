package runs

import (
	"context"
	"fmt"
	"strconv"
)

// Apply moves run id along event ev and records u with it, atomically: the
// state is compared and set in one script with all side effects (queue
// entry, ticket claim, heartbeat, expiry, state index). It fails with
// ErrNotFound, ErrLeaseLost (u.Attempt no longer current) or a
// *TransitionError naming the state and event.
//
// EventStart and EventRetry are not accepted here: Dequeue and Reclaim
// apply them, because they need the queue entry.
func (s *Store) Apply(ctx context.Context, id string, ev Event, u Update) (Run, error) {
	if ev == EventStart || ev == EventRetry {
		return Run{}, fmt.Errorf("apply %s to run %s: applied by the queue, not by callers", ev, id)
	}
	if ev == EventRestart {
		return Run{}, fmt.Errorf("apply %s to run %s: applied by Restart, which takes the ticket back", ev, id)
	}
	if _, ok := machine[ev]; !ok {
		return Run{}, fmt.Errorf("apply to run %s: unknown event %q", id, ev)
	}
	return s.applyBy(ctx, id, ev, u, "")
}

// applyBy is Apply on behalf of by (who asked, for the log; "" for the
// run's own work).
func (s *Store) applyBy(ctx context.Context, id string, ev Event, u Update, by string) (Run, error) {
	run, err := s.apply(ctx, id, encodePlan(ev), ev, u)
	if err != nil {
		return Run{}, fmt.Errorf("apply %s to run %s: %w", ev, id, err)
	}
	s.log(ctx).V(1).Info("run transition", "run", id, "event", ev, "state", run.State, "attempt", run.Attempt)
	s.recorded(ctx, run, ev, by)
	return run, nil
}

// Update records u on run id without changing its state. Callers that
// execute the run set u.Attempt so a lost lease cannot overwrite the new
// owner's record.
func (s *Store) Update(ctx context.Context, id string, u Update) (Run, error) {
	run, err := s.apply(ctx, id, "", "", u)
	if err != nil {
		return Run{}, fmt.Errorf("update run %s: %w", id, err)
	}
	return run, nil
}

// HandBack returns a run this replica owns to the queue, for a drain: it is
// available to other consumers at once, as a new attempt.
func (s *Store) HandBack(ctx context.Context, id string, attempt int) (Run, error) {
	return s.Apply(ctx, id, EventHandBack, Update{Attempt: attempt})
}

// Resume queues a run parked in awaiting_input again, with the same id, its
// ticket claim kept, and the answer to its questions recorded.
func (s *Store) Resume(ctx context.Context, id string, answer Answer) (Run, error) {
	return s.Apply(ctx, id, EventResume, Update{Answer: &answer})
}

func (s *Store) apply(ctx context.Context, id, plan string, ev Event, u Update) (Run, error) {
	args := []any{
		id, plan, strconv.Itoa(u.Attempt), ms(s.opts.Retention),
		strconv.FormatInt(u.AddUsage.InputTokens, 10),
		strconv.FormatInt(u.AddUsage.OutputTokens, 10),
		strconv.FormatFloat(u.AddUsage.CostUSD, 'f', -1, 64),
	}
	reply, err := s.run(ctx, applyScript, []string{s.runKey(id)}, append(args, u.fields()...)...).Result()
	if err != nil {
		return Run{}, err
	}
	st, rest, err := status(reply)
	if err != nil {
		return Run{}, err
	}
	switch st {
	case "ok":
		return hashReply(rest, 0)
	case "missing":
		return Run{}, ErrNotFound
	case "lost":
		return Run{}, fmt.Errorf("%w: attempt %d, run is at attempt %s in state %s", lostLease(str(rest, 0)), u.Attempt, str(rest, 1), str(rest, 0))
	case "illegal":
		return Run{}, &TransitionError{From: State(str(rest, 0)), Event: ev}
	}
	return Run{}, fmt.Errorf("unexpected script status %q", st)
}
