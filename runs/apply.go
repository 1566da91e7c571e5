package runs

import (
	"context"
	"fmt"
	"slices"
	"strconv"
)

// Apply moves run id along event ev and records u with it, atomically: the
// state is compared and set in one script with all side effects (queue
// entry, finalize outbox, heartbeat, expiry, state index). It fails with
// ErrNotFound, ErrLeaseLost (u.Fence no longer current) or a
// *TransitionError naming the state and event. The owner's events must
// carry its fence.
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
	if u.Fence == 0 && slices.Contains(ownerEvents, ev) {
		return Run{}, fmt.Errorf("apply %s to run %s: owner event without a fence", ev, id)
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
	s.log(ctx).V(1).Info("run transition", "run", id, "event", ev, "state", run.State, "attempt", run.Attempt, "fence", run.Fence)
	s.recorded(ctx, run, ev, by)
	return run, nil
}

// Update records u on run id without changing its state. Callers that
// execute the run set u.Fence so a lost lease cannot overwrite the new
// owner's record.
func (s *Store) Update(ctx context.Context, id string, u Update) (Run, error) {
	run, err := s.apply(ctx, id, "", "", u)
	if err != nil {
		return Run{}, fmt.Errorf("update run %s: %w", id, err)
	}
	s.revokeIfOver(run)
	return run, nil
}

// HandBack returns a run this replica owns (at fence) to the queue, for a
// drain or after its lease ran out: it is available to other consumers at
// once, as a new attempt that does not count as lost.
func (s *Store) HandBack(ctx context.Context, id string, fence int64) (Run, error) {
	return s.Apply(ctx, id, EventHandBack, Update{Fence: fence})
}

// Resume queues a run parked in awaiting_input again, with the same id, its
// ticket claim kept, and the answer to its questions recorded.
func (s *Store) Resume(ctx context.Context, id string, answer Answer) (Run, error) {
	return s.Apply(ctx, id, EventResume, Update{Answer: &answer})
}

// Stopped records that the owner of run id at fence makes no more side
// effects for it: the finalizer of an ended run waits for this (or for the
// owner's lease to run out). A run at another fence is left alone.
func (s *Store) Stopped(ctx context.Context, id string, fence int64) error {
	if err := s.run(ctx, stoppedScript, []string{s.runKey(id)}, strconv.FormatInt(fence, 10)).Err(); err != nil {
		return fmt.Errorf("record run %s stopped: %w", id, err)
	}
	return nil
}

func (s *Store) apply(ctx context.Context, id, plan string, ev Event, u Update) (Run, error) {
	args := []any{
		id, plan, strconv.FormatInt(u.Fence, 10), ms(s.opts.Retention),
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
		now, _ := strconv.ParseInt(str(rest, 2), 10, 64)
		s.checkLease(id, now, State(str(rest, 0)))
		return Run{}, fmt.Errorf("%w: fence %d, run is at fence %s (attempt %s) in state %s", lostLease(str(rest, 0)), u.Fence, str(rest, 2), str(rest, 1), str(rest, 0))
	case "illegal":
		return Run{}, &TransitionError{From: State(str(rest, 0)), Event: ev}
	}
	return Run{}, fmt.Errorf("unexpected script status %q", st)
}
