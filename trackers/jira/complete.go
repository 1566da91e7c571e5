package jira

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/agent-smith/agent-smith/trackers/jira/internal/adf"
)

// transition is a workflow transition the issue can take now.
type transition struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	To   named  `json:"to"`
}

type transitionRequest struct {
	Transition transitionRef  `json:"transition"`
	Update     *commentUpdate `json:"update,omitempty"`
}

type transitionRef struct {
	ID string `json:"id"`
}

// commentUpdate adds a comment as part of a transition.
type commentUpdate struct {
	Comment []commentAdd `json:"comment"`
}

type commentAdd struct {
	Add commentBody `json:"add"`
}

// Complete moves the issue to doneStatus through the workflow transition
// that leads there (GET, then POST /issue/{key}/transitions), with comment
// added by the same request. A site whose transition has no screen may
// refuse the comment there; it is then posted on its own after the
// transition. An empty doneStatus only comments; an issue already in
// doneStatus is only commented on; no transition into doneStatus is an
// error naming the statuses the issue can move to.
func (t *Tracker) Complete(ctx context.Context, id, doneStatus, comment string) error {
	key, err := issueRef(id)
	if err != nil {
		return err
	}
	if doneStatus == "" {
		return t.commentOnly(ctx, key, comment)
	}
	var list struct {
		Transitions []transition `json:"transitions"`
	}
	err = t.api.do(ctx, "list transitions of issue "+key, request{method: http.MethodGet, path: "/issue/" + key + "/transitions",
		idempotent: true}, &list)
	if err != nil {
		return fmt.Errorf("complete issue %s: %w", key, notFound(err))
	}
	tr, err := pickTransition(list.Transitions, doneStatus, t.closeTransition)
	if err != nil {
		if t.inStatus(ctx, key, doneStatus) {
			return t.commentOnly(ctx, key, comment)
		}
		return fmt.Errorf("complete issue %s: %w", key, err)
	}
	err = t.transition(ctx, key, tr, comment)
	if comment != "" && refusedComment(err) {
		if err = t.transition(ctx, key, tr, ""); err == nil {
			return t.commentOnly(ctx, key, comment)
		}
	}
	if err != nil {
		return fmt.Errorf("complete issue %s: %w", key, notFound(err))
	}
	return nil
}

func (t *Tracker) transition(ctx context.Context, key string, tr transition, comment string) error {
	body := transitionRequest{Transition: transitionRef{ID: tr.ID}}
	if comment != "" {
		body.Update = &commentUpdate{Comment: []commentAdd{{Add: commentBody{Body: adf.FromText(comment)}}}}
	}
	return t.api.do(ctx, fmt.Sprintf("transition issue %s to %s (%s)", key, tr.To.Name, tr.Name),
		request{method: http.MethodPost, path: "/issue/" + key + "/transitions", body: body}, nil)
}

// refusedComment reports a transition refused because its screen has no
// comment field.
func refusedComment(err error) bool {
	e, ok := errors.AsType[*apiError](err)
	return ok && e.status == http.StatusBadRequest && e.fields["comment"] != ""
}

func (t *Tracker) commentOnly(ctx context.Context, key, comment string) error {
	if comment == "" {
		return nil
	}
	if _, err := t.Comment(ctx, key, comment); err != nil {
		return fmt.Errorf("complete issue %s: %w", key, err)
	}
	return nil
}

// inStatus reports whether the issue is in status now; a failed read
// counts as not.
func (t *Tracker) inStatus(ctx context.Context, key, status string) bool {
	var is issueJSON
	err := t.api.do(ctx, "get status of issue "+key, request{method: http.MethodGet, path: "/issue/" + key,
		query: url.Values{"fields": {"status"}}, idempotent: true}, &is)
	return err == nil && is.Fields.Status != nil && strings.EqualFold(is.Fields.Status.Name, status)
}

// pickTransition chooses the transition into status: those whose target
// status matches (case-insensitively), the one named preferred among
// several; else one whose own name is status, for configs that name the
// transition. No match is an error listing where the issue can go.
func pickTransition(trs []transition, status, preferred string) (transition, error) {
	var into []transition
	for _, tr := range trs {
		if strings.EqualFold(tr.To.Name, status) {
			into = append(into, tr)
		}
	}
	if i := slices.IndexFunc(into, func(tr transition) bool { return strings.EqualFold(tr.Name, preferred) }); i >= 0 {
		return into[i], nil
	}
	if len(into) > 0 {
		return into[0], nil
	}
	if i := slices.IndexFunc(trs, func(tr transition) bool { return strings.EqualFold(tr.Name, status) }); i >= 0 {
		return trs[i], nil
	}
	if len(trs) == 0 {
		return transition{}, fmt.Errorf("no transition leads to status %q: the issue has no transitions available now", status)
	}
	targets := make([]string, 0, len(trs))
	for _, tr := range trs {
		targets = append(targets, fmt.Sprintf("%q (transition %q)", tr.To.Name, tr.Name))
	}
	return transition{}, fmt.Errorf("no transition leads to status %q; the issue can move to %s", status, strings.Join(targets, ", "))
}
