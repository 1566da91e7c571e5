package github

import (
	"context"
	"fmt"
	"slices"
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/agent-smith/agent-smith/trackers"
)

// Candidates lists the open issues carrying a trigger label and no
// lifecycle label, each once. GitHub's labels filter is an AND, so each
// trigger label is its own query; every page is read, and pages that did
// not change answer 304 from the ETag cache, which costs no rate limit.
// Pull requests, which the issues API lists too, are skipped. Oldest first,
// so an issue opened mid-poll lands on a later page instead of shifting one
// not read yet.
func (t *Tracker) Candidates(ctx context.Context) ([]trackers.Ticket, error) {
	state := listState(t.openStates)
	if state == "" {
		return nil, nil
	}
	seen := map[int]bool{}
	var out []trackers.Ticket
	for _, label := range t.triggerLabels {
		if trackers.IsLifecycleLabel(label) {
			continue
		}
		opts := &gh.IssueListByRepoOptions{State: state, Labels: []string{label}, Sort: "created", Direction: "asc",
			ListOptions: gh.ListOptions{PerPage: 100}}
		for {
			var page []*gh.Issue
			var resp *gh.Response
			err := t.api.Call(ctx, fmt.Sprintf("list %s issues labeled %s (page %d)", state, label, max(opts.ListOptions.Page, 1)), true, func(ctx context.Context) (err error) {
				page, resp, err = t.api.gh.Issues.ListByRepo(ctx, t.api.owner, t.api.repo, opts)
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("poll tracker %s: %w", t.name, err)
			}
			for _, is := range page {
				if is.IsPullRequest() || seen[is.GetNumber()] {
					continue
				}
				seen[is.GetNumber()] = true
				tk := ticketOf(is, nil, trackers.Identity{})
				if trackers.HasLifecycle(tk.Labels) {
					continue
				}
				out = append(out, tk)
			}
			if resp.NextPage == 0 {
				break
			}
			opts.ListOptions.Page = resp.NextPage
		}
	}
	return out, nil
}

// listState is the issues-list state filter covering open_states: GitHub
// only knows open and closed. "" means none of open_states exists on
// GitHub, so nothing is a candidate.
func listState(openStates []string) string {
	open := slices.ContainsFunc(openStates, func(s string) bool { return strings.EqualFold(s, "open") })
	closed := slices.ContainsFunc(openStates, func(s string) bool { return strings.EqualFold(s, "closed") })
	switch {
	case open && closed:
		return "all"
	case open:
		return "open"
	case closed:
		return "closed"
	}
	return ""
}
