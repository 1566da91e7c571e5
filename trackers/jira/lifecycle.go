package jira

import (
	"context"
	"fmt"
	"net/http"

	"github.com/agent-smith/agent-smith/trackers"
)

// labelOp is one operation of an edit's update.labels.
type labelOp struct {
	Add    string `json:"add,omitempty"`
	Remove string `json:"remove,omitempty"`
}

type labelUpdate struct {
	Update struct {
		Labels []labelOp `json:"labels"`
	} `json:"update"`
}

// SetLifecycle puts lifecycle label l on the issue and takes every other
// lifecycle label off, in one edit (PUT /issue/{key}) of update operations:
// add l, remove the others. Jira has no compare-and-set on issue edits,
// but it applies the operations to the labels the issue has when the edit
// lands, so a label someone else added or removed meanwhile is kept as
// they left it; removing a label the issue does not carry is a no-op.
// The edit is idempotent, so it is retried after server errors.
func (t *Tracker) SetLifecycle(ctx context.Context, id string, l trackers.Lifecycle) error {
	key, err := issueRef(id)
	if err != nil {
		return err
	}
	var body labelUpdate
	body.Update.Labels = append(body.Update.Labels, labelOp{Add: l.Label()})
	for _, other := range trackers.Lifecycles {
		if other != l {
			body.Update.Labels = append(body.Update.Labels, labelOp{Remove: other.Label()})
		}
	}
	err = t.api.do(ctx, fmt.Sprintf("set lifecycle %s on issue %s", l, key),
		request{method: http.MethodPut, path: "/issue/" + key, body: body, idempotent: true}, nil)
	return notFound(err)
}
