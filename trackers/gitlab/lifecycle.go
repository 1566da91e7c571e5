package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/agent-smith/agent-smith/trackers"
)

// Label colors, so agent-smith's labels read at a glance on the issue list.
var lifecycleColors = map[trackers.Lifecycle]string{
	trackers.LifecycleQueued:        "#c5def5",
	trackers.LifecycleInProgress:    "#fbca04",
	trackers.LifecycleAwaitingInput: "#d876e3",
	trackers.LifecycleDone:          "#0e8a16",
	trackers.LifecycleFailed:        "#b60205",
	trackers.LifecycleCancelled:     "#cfd3d7",
}

const doneLabelColor = "#0e8a16"

// SetLifecycle puts lifecycle label l on the issue and takes every other
// lifecycle label off in one request: PUT /projects/:id/issues/:iid with
// add_labels and remove_labels. GitLab applies both to the labels the
// issue has when the request arrives, so a label someone else added or
// removed meanwhile is kept as they left it; writing the whole label list
// (labels=…) would overwrite their edit. Removing a label the issue does
// not carry is a no-op, so nothing needs to be read first.
func (t *Tracker) SetLifecycle(ctx context.Context, id string, l trackers.Lifecycle) error {
	iid, err := issueIID(id)
	if err != nil {
		return err
	}
	want := l.Label()
	if err := t.ensureLabel(ctx, want, lifecycleColors[l], "agent-smith: "+string(l)); err != nil {
		return fmt.Errorf("set lifecycle %s on issue %s: %w", l, id, err)
	}
	var stale gl.LabelOptions
	for _, other := range trackers.Lifecycles {
		if other != l {
			stale = append(stale, other.Label())
		}
	}
	opt := &gl.UpdateIssueOptions{AddLabels: &gl.LabelOptions{want}, RemoveLabels: &stale}
	err = t.api.Call(ctx, fmt.Sprintf("set label %s on issue %s", want, id), true, func(ctx context.Context) error {
		_, _, err := t.api.gl.Issues.UpdateIssue(t.api.project, iid, opt, gl.WithContext(ctx))
		return err
	})
	if err != nil {
		return fmt.Errorf("set lifecycle %s on issue %s: %w", l, id, notFound(err))
	}
	return nil
}

// ensureLabel creates the project label with a color unless it exists
// (GitLab answers 409). add_labels would create a missing label too, but
// in a default grey.
func (t *Tracker) ensureLabel(ctx context.Context, name, color, description string) error {
	key := strings.ToLower(name)
	if _, ok := t.knownLabels.Load(key); ok {
		return nil
	}
	err := t.api.Call(ctx, "create label "+name, true, func(ctx context.Context) error {
		_, _, err := t.api.gl.Labels.CreateLabel(t.api.project, &gl.CreateLabelOptions{Name: &name, Color: &color, Description: &description}, gl.WithContext(ctx))
		return err
	})
	if err != nil && statusOf(err) != http.StatusConflict {
		return notFound(err)
	}
	t.knownLabels.Store(key, true)
	return nil
}
