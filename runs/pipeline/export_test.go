package pipeline

import (
	"context"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
)

// What the fault suite's scripted executor (pipeline_test) calls to make
// the pipeline's side effects through the pipeline's own code: guarded
// tracker and host, and the status comment found again by its mark.
var (
	GuardTracker = guardTracker
	GuardHost    = guardHost
)

// EnsureStatusComment opens the run's status comment as a job's ticket
// step does, on a ticket read with its comments.
func EnsureStatusComment(ctx context.Context, tr trackers.Tracker, t trackers.Ticket, run runs.Run, steps ...string) (string, error) {
	v := statusView{RunID: run.ID, Pipeline: run.Pipeline, Attempt: run.Attempt}
	for _, s := range steps {
		v.Steps = append(v.Steps, stepRecord{Name: s, State: stepPending})
	}
	return ensureComment(ctx, tr, t, run.StatusCommentID, statusMarker(run.ID), renderStatus(v))
}
