package pipeline

import (
	"context"

	"github.com/agent-smith/agent-smith/trackers"
)

// Guard proves, right before a side effect, that this execution still owns
// its run (*runs.Lease).
type Guard interface {
	Guard(ctx context.Context) error
}

// guardedTracker is the tracker as a job sees it: every write is preceded
// by a Guard, so an owner that lost its run (or could not reach Redis for
// a heartbeat TTL) writes nothing more to the ticket. Reads pass through.
type guardedTracker struct {
	trackers.Tracker
	guard Guard
}

func guardTracker(t trackers.Tracker, g Guard) trackers.Tracker {
	return guardedTracker{Tracker: t, guard: g}
}

func (t guardedTracker) Comment(ctx context.Context, id, body string) (string, error) {
	if err := t.guard.Guard(ctx); err != nil {
		return "", err
	}
	return t.Tracker.Comment(ctx, id, body)
}

func (t guardedTracker) EditComment(ctx context.Context, id, commentID, body string) error {
	if err := t.guard.Guard(ctx); err != nil {
		return err
	}
	return t.Tracker.EditComment(ctx, id, commentID, body)
}

func (t guardedTracker) SetLifecycle(ctx context.Context, id string, l trackers.Lifecycle) error {
	if err := t.guard.Guard(ctx); err != nil {
		return err
	}
	return t.Tracker.SetLifecycle(ctx, id, l)
}

func (t guardedTracker) Complete(ctx context.Context, id, doneStatus, comment string) error {
	if err := t.guard.Guard(ctx); err != nil {
		return err
	}
	return t.Tracker.Complete(ctx, id, doneStatus, comment)
}

// guardedHost is a repository host whose writes are guarded like the
// tracker's.
type guardedHost struct {
	trackers.RepoHost
	guard Guard
}

func guardHost(h trackers.RepoHost, g Guard) trackers.RepoHost {
	return guardedHost{RepoHost: h, guard: g}
}

func (h guardedHost) OpenPullRequest(ctx context.Context, pr trackers.PullRequest) (trackers.PullRequestRef, error) {
	if err := h.guard.Guard(ctx); err != nil {
		return trackers.PullRequestRef{}, err
	}
	return h.RepoHost.OpenPullRequest(ctx, pr)
}

func (h guardedHost) EditPullRequestBody(ctx context.Context, number int, body string) error {
	if err := h.guard.Guard(ctx); err != nil {
		return err
	}
	return h.RepoHost.EditPullRequestBody(ctx, number, body)
}
