package pipeline

import (
	"context"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/trackers"
)

// ownComments is the run's tracker with every comment it posts recorded
// as agent-smith's own (Store.RecordOwnComment) before its id is handed
// back: intake then knows the comment for agent-smith's whoever the
// tracker says wrote it (a person's token), so its webhook, however late
// or often it comes, never answers or starts a run.
type ownComments struct {
	trackers.Tracker
	store Store
	log   logr.Logger
}

// Comment posts the comment and records its id. A failure to record is
// logged, not returned: the comment is posted, and intake still knows it
// by its author and, for questions, by being no newer than them.
func (t ownComments) Comment(ctx context.Context, id, body string) (string, error) {
	cid, err := t.Tracker.Comment(ctx, id, body)
	if err != nil {
		return cid, err
	}
	if err := t.store.RecordOwnComment(context.WithoutCancel(ctx), t.Name(), id, cid); err != nil {
		t.log.Error(err, "recording agent-smith's own comment failed", "comment", cid)
	}
	return cid, nil
}
