package pipeline

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
)

// lostLease is the guard of an owner that lost its run.
type lostLease struct{}

func (lostLease) Guard(context.Context) error { return runs.ErrLeaseLost }

// readOnly is a tracker and host whose writes must never be reached (the
// nil interfaces they embed would panic).
type readOnly struct {
	trackers.Tracker
	trackers.RepoHost
}

func (readOnly) Ticket(context.Context, string) (trackers.Ticket, error) {
	return trackers.Ticket{ID: "7"}, nil
}

func TestGuardedTrackerRefusesWritesAfterTheLeaseIsLost(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	tr := guardTracker(readOnly{}, lostLease{})
	host := guardHost(readOnly{}, lostLease{})
	_, err := tr.Ticket(ctx, "7")
	g.Expect(err).NotTo(HaveOccurred(), "reads pass")
	_, err = tr.Comment(ctx, "7", "hello")
	g.Expect(err).To(MatchError(runs.ErrLeaseLost))
	g.Expect(tr.EditComment(ctx, "7", "1", "hello")).To(MatchError(runs.ErrLeaseLost))
	g.Expect(tr.SetLifecycle(ctx, "7", trackers.LifecycleFailed)).To(MatchError(runs.ErrLeaseLost))
	g.Expect(tr.Complete(ctx, "7", "closed", "done")).To(MatchError(runs.ErrLeaseLost))
	_, err = host.OpenPullRequest(ctx, trackers.PullRequest{Head: "agent-smith/7"})
	g.Expect(err).To(MatchError(runs.ErrLeaseLost))
	g.Expect(host.EditPullRequestBody(ctx, 3, "body")).To(MatchError(runs.ErrLeaseLost))
}
