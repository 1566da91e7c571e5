package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/agent-smith/agent-smith/trackers"
)

// Label colors, so agent-smith's labels read at a glance on the issue list.
var lifecycleColors = map[trackers.Lifecycle]string{
	trackers.LifecycleQueued:        "c5def5",
	trackers.LifecycleInProgress:    "fbca04",
	trackers.LifecycleAwaitingInput: "d876e3",
	trackers.LifecycleDone:          "0e8a16",
	trackers.LifecycleFailed:        "b60205",
	trackers.LifecycleCancelled:     "cfd3d7",
}

const doneLabelColor = "0e8a16"

// SetLifecycle puts lifecycle label l on the issue and takes any other
// lifecycle label off, one label at a time: add l (POST …/labels), then
// DELETE each stale lifecycle label the answer still lists.
//
// GitHub's issue API has no compare-and-set for labels (If-Match is not
// honoured on writes), so writing the whole label list would overwrite a
// concurrent edit. Adding and removing single labels cannot: each request
// touches only the label it names, and GitHub applies it atomically. The
// new label goes on before the old ones come off, so the issue never looks
// unhandled to a poller in between.
func (t *Tracker) SetLifecycle(ctx context.Context, id string, l trackers.Lifecycle) error {
	n, err := issueNumber(id)
	if err != nil {
		return err
	}
	want := l.Label()
	labels, err := t.addLabelOnIssue(ctx, n, want, lifecycleColors[l], "agent-smith: "+string(l))
	if err != nil {
		return fmt.Errorf("set lifecycle %s on issue %s: %w", l, id, err)
	}
	for _, name := range labels {
		if !trackers.IsLifecycleLabel(name) || strings.EqualFold(name, want) {
			continue
		}
		err := t.api.Call(ctx, fmt.Sprintf("remove label %s from issue %s", name, id), true, func(ctx context.Context) error {
			_, err := t.api.gh.Issues.RemoveLabelForIssue(ctx, t.api.owner, t.api.repo, n, name)
			return err
		})
		// 404: someone else took it off meanwhile, which is what we want.
		if err != nil && statusOf(err) != http.StatusNotFound {
			return fmt.Errorf("set lifecycle %s on issue %s: %w", l, id, err)
		}
	}
	return nil
}

func (t *Tracker) addLabel(ctx context.Context, n int, name, color, description string) error {
	_, err := t.addLabelOnIssue(ctx, n, name, color, description)
	return err
}

// addLabelOnIssue makes sure the repository has the label, adds it to the
// issue and returns every label the issue carries afterwards.
func (t *Tracker) addLabelOnIssue(ctx context.Context, n int, name, color, description string) ([]string, error) {
	if err := t.ensureLabel(ctx, name, color, description); err != nil {
		return nil, err
	}
	var labels []*gh.Label
	err := t.api.Call(ctx, fmt.Sprintf("add label %s to issue %d", name, n), true, func(ctx context.Context) (err error) {
		labels, _, err = t.api.gh.Issues.AddLabelsToIssue(ctx, t.api.owner, t.api.repo, n, []string{name})
		return err
	})
	if err != nil {
		return nil, notFound(err)
	}
	return labelNames(labels), nil
}

// ensureLabel creates the repository label with a color unless it exists.
func (t *Tracker) ensureLabel(ctx context.Context, name, color, description string) error {
	key := strings.ToLower(name)
	if _, ok := t.knownLabels.Load(key); ok {
		return nil
	}
	err := t.api.Call(ctx, "get label "+name, true, func(ctx context.Context) error {
		_, _, err := t.api.gh.Issues.GetLabel(ctx, t.api.owner, t.api.repo, name)
		return err
	})
	if statusOf(err) == http.StatusNotFound {
		err = t.api.Call(ctx, "create label "+name, false, func(ctx context.Context) error {
			_, _, err := t.api.gh.Issues.CreateLabel(ctx, t.api.owner, t.api.repo, &gh.Label{Name: &name, Color: &color, Description: &description})
			return err
		})
		// 422: created by someone else since we looked.
		if statusOf(err) == http.StatusUnprocessableEntity {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	t.knownLabels.Store(key, true)
	return nil
}
