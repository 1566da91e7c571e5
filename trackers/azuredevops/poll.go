package azuredevops

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/agent-smith/agent-smith/trackers"
)

// Candidates lists the project's work items in one of open_states that
// carry a trigger tag and no lifecycle tag, each once, oldest id first. A
// WIQL query finds their ids a page at a time (keyset paging on the id, so
// a work item created mid-poll cannot shift one not read yet) and each
// page is read in one batch request. Azure DevOps has no conditional
// requests for either, so an idle poll costs one query and no reads.
func (t *Tracker) Candidates(ctx context.Context) ([]trackers.Ticket, error) {
	tags := slices.DeleteFunc(slices.Clone(t.triggerTags), trackers.IsLifecycleLabel)
	if len(t.openStates) == 0 || len(tags) == 0 {
		return nil, nil
	}
	var out []trackers.Ticket
	after := 0
	for page := 1; ; page++ {
		var res struct {
			WorkItems []struct {
				ID int `json:"id"`
			} `json:"workItems"`
		}
		err := t.api.do(ctx, call{
			what: fmt.Sprintf("query candidate work items (page %d)", page), method: "POST", idempotent: true,
			path:  t.projectPath() + "/_apis/wit/wiql",
			query: url.Values{"$top": {strconv.Itoa(t.pageSize)}},
			body:  map[string]string{"query": candidatesQuery(t.openStates, tags, after)},
		}, &res)
		if err != nil {
			return nil, fmt.Errorf("poll tracker %s: %w", t.name, err)
		}
		ids := make([]int, 0, len(res.WorkItems))
		for _, w := range res.WorkItems {
			ids = append(ids, w.ID)
			after = max(after, w.ID)
		}
		items, err := t.batch(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("poll tracker %s: %w", t.name, err)
		}
		for _, wi := range items {
			if tk := t.ticketOf(wi.ID, wi.Fields, wi.MultilineFieldsFormat); t.isCandidate(tk, wi.Fields) {
				out = append(out, tk)
			}
		}
		if len(ids) < t.pageSize {
			return out, nil
		}
	}
}

// batch reads work items by id, at most pageSize (≤ 200, the API's limit)
// at a time. Work items deleted since the query are left out.
func (t *Tracker) batch(ctx context.Context, ids []int) ([]workItem, error) {
	var out []workItem
	for chunk := range slices.Chunk(ids, t.pageSize) {
		var res struct {
			Value []*workItem `json:"value"`
		}
		err := t.api.do(ctx, call{
			what: fmt.Sprintf("read %d work items from %d", len(chunk), chunk[0]), method: "POST", idempotent: true,
			path: t.projectPath() + "/_apis/wit/workitemsbatch",
			body: map[string]any{"ids": chunk, "fields": ticketFields, "errorPolicy": "omit"},
		}, &res)
		if err != nil {
			return nil, err
		}
		for _, wi := range res.Value {
			if wi != nil {
				out = append(out, *wi)
			}
		}
	}
	return out, nil
}

// isCandidate checks again what the query asked for, on what the batch
// read returned: the work item may have changed in between.
func (t *Tracker) isCandidate(tk trackers.Ticket, f fields) bool {
	if p := f.str(fieldTeamProject); p != "" && !strings.EqualFold(p, t.project) {
		return false
	}
	return slices.ContainsFunc(t.openStates, func(s string) bool { return strings.EqualFold(s, tk.State) }) &&
		t.triggerTagOf(tk.Labels) != "" && !trackers.HasLifecycle(tk.Labels)
}

// candidatesQuery is the WIQL of one polling page: work items of the
// project (the @project of the URL the query is posted to) in one of
// states, carrying one of tags and none of the lifecycle tags, with an id
// above after, by id. [System.Tags] CONTAINS matches whole tags.
func candidatesQuery(states, tags []string, after int) string {
	var b strings.Builder
	b.WriteString("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.State] IN (")
	for i, s := range states {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(wiqlString(s))
	}
	b.WriteString(") AND (")
	for i, tag := range tags {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("[System.Tags] CONTAINS " + wiqlString(tag))
	}
	b.WriteString(")")
	for _, l := range trackers.Lifecycles {
		b.WriteString(" AND [System.Tags] NOT CONTAINS " + wiqlString(l.Label()))
	}
	if after > 0 {
		b.WriteString(" AND [System.Id] > " + strconv.Itoa(after))
	}
	b.WriteString(" ORDER BY [System.Id] ASC")
	return b.String()
}

// wiqlString quotes s as a WIQL string literal.
func wiqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// triggerTagOf is the first of tags that is a trigger tag.
func (t *Tracker) triggerTagOf(tags []string) string {
	for _, tag := range tags {
		if t.isTrigger(tag) {
			return tag
		}
	}
	return ""
}

func (t *Tracker) isTrigger(tag string) bool {
	return !trackers.IsLifecycleLabel(tag) && hasTag(t.triggerTags, tag)
}
