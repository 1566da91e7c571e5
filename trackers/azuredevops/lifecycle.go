package azuredevops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/trackers"
)

// patchOp is one JSON Patch operation on a work item.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// maxConflicts bounds how often one update is planned again because
// another client changed the work item between read and write.
const maxConflicts = 5

// errConflict says the work item kept changing under an update.
var errConflict = errors.New("the work item kept changing while agent-smith updated it")

// update changes work item id with optimistic concurrency: it reads the
// work item, asks plan for the operations (none: nothing to do), and
// writes them behind a JSON Patch test of the revision it read. When
// another client changed the work item in between, Azure DevOps refuses
// the whole patch (412) and update reads and plans again.
//
// An idempotent update (one whose plan converges on a state, like a tag
// set) may also be sent again after a lost answer: if the first write got
// through, the revision test refuses the second and the new plan is empty.
func (t *Tracker) update(ctx context.Context, id int, what string, idempotent bool, plan func(workItem) []patchOp) error {
	for attempt := 1; ; attempt++ {
		wi, err := t.getWorkItem(ctx, id)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		ops := plan(wi)
		if len(ops) == 0 {
			return nil
		}
		doc := append([]patchOp{{Op: "test", Path: "/rev", Value: wi.Rev}}, ops...)
		err = t.api.do(ctx, call{
			what: what, method: "PATCH", path: t.projectPath() + "/_apis/wit/workitems/" + strconv.Itoa(id),
			body: doc, patch: true, idempotent: idempotent,
		}, nil)
		switch {
		case err == nil:
			return nil
		case !conflict(err):
			return notFound(err)
		case attempt == maxConflicts:
			return fmt.Errorf("%s: %w (%d attempts): %w", what, errConflict, attempt, err)
		}
		logr.FromContextOrDiscard(ctx).V(1).Info("work item changed concurrently; reading it again", "ticket", id, "attempt", attempt, "rev", wi.Rev)
	}
}

// conflict reports Azure DevOps refusing a patch whose revision test
// failed.
func conflict(err error) bool {
	s := statusOf(err)
	return s == http.StatusPreconditionFailed || s == http.StatusConflict
}

// SetLifecycle puts lifecycle tag l on the work item and takes any other
// lifecycle tag off, keeping every other tag. The tag list is written
// whole, so the write is guarded by the revision it was computed from: a
// tag someone adds meanwhile makes the write fail and it is computed
// again from the new list, never overwritten. Setting the current
// lifecycle again writes nothing (and makes no revision or webhook).
func (t *Tracker) SetLifecycle(ctx context.Context, id string, l trackers.Lifecycle) error {
	n, err := workItemID(id)
	if err != nil {
		return err
	}
	return t.update(ctx, n, fmt.Sprintf("set lifecycle %s on work item %s", l, id), true, func(wi workItem) []patchOp {
		tags := splitTags(wi.Fields.str(fieldTags))
		want := trackers.WithLifecycle(tags, l)
		if sameTags(tags, want) {
			return nil
		}
		return []patchOp{tagsOp(tags, want)}
	})
}

// tagsOp writes want as the work item's tags. "replace" sets the list
// exactly; on a work item without tags the field does not exist yet, so
// it is "add" there.
func tagsOp(current, want []string) patchOp {
	op := "replace"
	if len(current) == 0 {
		op = "add"
	}
	return patchOp{Op: op, Path: "/fields/" + fieldTags, Value: joinTags(want)}
}

// Complete moves the work item to the state doneStatus and adds comment to
// its discussion in the same update (System.State and System.History in
// one patch, one revision), so no other writer can slip in between. An
// empty doneStatus only comments. A state the work item type does not have
// is reported with the states it has.
func (t *Tracker) Complete(ctx context.Context, id, doneStatus, comment string) error {
	if doneStatus == "" {
		if comment == "" {
			return nil
		}
		if _, err := t.Comment(ctx, id, comment); err != nil {
			return fmt.Errorf("complete work item %s: %w", id, err)
		}
		return nil
	}
	n, err := workItemID(id)
	if err != nil {
		return err
	}
	var from, typ string
	// Not idempotent: the comment must not be added twice, so a lost
	// answer is not sent again; a 412 always means nothing was applied.
	err = t.update(ctx, n, fmt.Sprintf("complete work item %s", id), false, func(wi workItem) []patchOp {
		from, typ = wi.Fields.str(fieldState), wi.Fields.str(fieldWorkItemType)
		var ops []patchOp
		if !strings.EqualFold(from, doneStatus) {
			ops = append(ops, patchOp{Op: "add", Path: "/fields/" + fieldState, Value: doneStatus})
		}
		if comment != "" {
			ops = append(ops, patchOp{Op: "add", Path: "/fields/" + fieldHistory, Value: markdownToHTML(markOwn(comment))})
		}
		return ops
	})
	if statusOf(err) == http.StatusBadRequest {
		return t.stateError(ctx, n, typ, from, doneStatus, err)
	}
	return err
}

// stateError explains a refused move to doneStatus: the states the work
// item type has when doneStatus is not one of them, else Azure DevOps'
// own reason (a workflow rule, a required field).
func (t *Tracker) stateError(ctx context.Context, id int, typ, from, doneStatus string, refused error) error {
	if typ == "" {
		return refused
	}
	var list struct {
		Value []struct {
			Name string `json:"name"`
		} `json:"value"`
	}
	err := t.api.do(ctx, call{
		what: "list states of work item type " + typ, method: "GET", idempotent: true,
		path: t.projectPath() + "/_apis/wit/workitemtypes/" + pathSegment(typ) + "/states",
	}, &list)
	if err != nil {
		return fmt.Errorf("%w (listing the states of %s: %w)", refused, typ, err)
	}
	var names []string
	for _, s := range list.Value {
		if strings.EqualFold(s.Name, doneStatus) {
			return fmt.Errorf("complete work item %d: Azure DevOps refused moving it from %s to %s: %w", id, from, doneStatus, refused)
		}
		names = append(names, s.Name)
	}
	return fmt.Errorf("complete work item %d: done_status %q is not a state of %s work items in project %s (its states: %s): %w",
		id, doneStatus, typ, t.project, strings.Join(names, ", "), refused)
}
