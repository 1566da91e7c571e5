package gitlab

import (
	"context"
	"fmt"
	"slices"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/agent-smith/agent-smith/trackers"
)

// Candidates lists the issues in open_states carrying a trigger label and
// no lifecycle label, each once. GitLab's labels filter is an AND, so each
// trigger label is its own query; every page is read (X-Next-Page), oldest
// first, so an issue opened mid-poll lands on a later page instead of
// shifting one not read yet. GitLab's issues API has no conditional
// requests, so a poll costs one request per page.
func (t *Tracker) Candidates(ctx context.Context) ([]trackers.Ticket, error) {
	state := listState(t.openStates)
	if state == "" {
		return nil, nil
	}
	seen := map[int64]bool{}
	var out []trackers.Ticket
	for _, label := range t.triggerLabels {
		if trackers.IsLifecycleLabel(label) {
			continue
		}
		orderBy, sort := "created_at", "asc"
		opts := &gl.ListProjectIssuesOptions{State: &state, Labels: &gl.LabelOptions{label}, OrderBy: &orderBy, Sort: &sort,
			ListOptions: gl.ListOptions{PerPage: 100}}
		for {
			var page []*gl.Issue
			var resp *gl.Response
			err := t.api.Call(ctx, fmt.Sprintf("list %s issues labeled %s (page %d)", state, label, max(opts.Page, 1)), true, func(ctx context.Context) (err error) {
				page, resp, err = t.api.gl.Issues.ListProjectIssues(t.api.project, opts, gl.WithContext(ctx))
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("poll tracker %s: %w", t.name, err)
			}
			for _, is := range page {
				if seen[is.IID] {
					continue
				}
				seen[is.IID] = true
				tk := ticketOf(is)
				if trackers.HasLifecycle(tk.Labels) {
					continue
				}
				out = append(out, tk)
			}
			if resp.NextPage == 0 {
				break
			}
			opts.Page = resp.NextPage
		}
	}
	return out, nil
}

// listState is the issues-list state filter covering open_states: GitLab
// issues are opened or closed. "" means none of open_states exists on
// GitLab, so nothing is a candidate.
func listState(openStates []string) string {
	open := slices.Contains(openStates, stateOpen)
	closed := slices.Contains(openStates, stateClosed)
	switch {
	case open && closed:
		return "all"
	case open:
		return "opened"
	case closed:
		return "closed"
	}
	return ""
}
