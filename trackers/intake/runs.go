package intake

import (
	"context"
	"errors"
	"fmt"

	"github.com/agent-smith/agent-smith/runs"
)

// Runs is what intake needs from the run store.
type Runs interface {
	// Submit queues a run for a ticket unless the delivery was seen or the
	// ticket already has an unfinished run (runs.Store.Submit).
	Submit(ctx context.Context, sub runs.Submission) (runs.SubmitResult, error)
	// AwaitingInput returns the ticket's run parked in awaiting_input, if
	// it has one.
	AwaitingInput(ctx context.Context, tracker, ticket string) (runs.Run, bool, error)
	// Resume queues a parked run again with the answer to its questions
	// (runs.Store.Resume).
	Resume(ctx context.Context, id string, answer runs.Answer) (runs.Run, error)
	// ClaimDelivery records a delivery that resumes a run, by its id and
	// its body's digest, and reports whether it is new; ForgetDelivery
	// undoes it when resuming failed.
	ClaimDelivery(ctx context.Context, tracker, delivery, bodyDigest string) (bool, error)
	ForgetDelivery(ctx context.Context, tracker, delivery, bodyDigest string) error
	// OwnComment reports whether agent-smith posted the comment
	// (runs.Store.RecordOwnComment).
	OwnComment(ctx context.Context, tracker, ticket, commentID string) (bool, error)
	// ActiveRun is the id of the ticket's unfinished run, "" when it has
	// none; Get reads a run; Cancel calls a run off (runs.Store.Cancel).
	ActiveRun(ctx context.Context, tracker, ticket string) (string, error)
	Get(ctx context.Context, id string) (runs.Run, error)
	Cancel(ctx context.Context, id, by, reason string) (runs.Run, error)
}

// StoreRuns adapts a *runs.Store to Runs.
func StoreRuns(s *runs.Store) Runs { return storeRuns{s} }

type storeRuns struct{ *runs.Store }

// AwaitingInput looks up the ticket's unfinished run through its claim and
// returns it when it is parked in awaiting_input.
func (s storeRuns) AwaitingInput(ctx context.Context, tracker, ticket string) (runs.Run, bool, error) {
	id, err := s.ActiveRun(ctx, tracker, ticket)
	if err != nil || id == "" {
		return runs.Run{}, false, err
	}
	r, err := s.Get(ctx, id)
	if errors.Is(err, runs.ErrNotFound) {
		return runs.Run{}, false, nil
	}
	if err != nil {
		return runs.Run{}, false, fmt.Errorf("find parked run of ticket %s: %w", ticket, err)
	}
	return r, r.State == runs.StateAwaitingInput, nil
}
