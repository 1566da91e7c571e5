package jira

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/trackers"
)

// searchPage is the page size agent-smith asks the search for.
const searchPage = 100

// Candidates lists the project's issues in one of open_states that carry a
// trigger label and no lifecycle label, each once, oldest first, reading
// every page of one JQL search. Jira refuses a whole query that names a
// status the site does not have; those statuses are dropped (and logged
// once) so that a stale open_states entry does not stop polling.
func (t *Tracker) Candidates(ctx context.Context) ([]trackers.Ticket, error) {
	labels := slices.DeleteFunc(slices.Clone(t.triggerLabels), trackers.IsLifecycleLabel)
	states := t.pollStates()
	if len(labels) == 0 || len(states) == 0 {
		return nil, nil
	}
	for {
		out, err := t.search(ctx, candidatesJQL(t.project, states, labels))
		if err == nil {
			return out, nil
		}
		unknown := unknownStatuses(err)
		known := slices.DeleteFunc(slices.Clone(states), func(s string) bool { return containsFold(unknown, s) })
		switch {
		case len(unknown) == 0 || len(known) == len(states):
			return nil, fmt.Errorf("poll tracker %s: %w", t.name, err)
		case len(known) == 0:
			return nil, fmt.Errorf("poll tracker %s: none of open_states (%s) is a status of the Jira site: %w", t.name, strings.Join(states, ", "), err)
		}
		logr.FromContextOrDiscard(ctx).Info("open_states names statuses the Jira site does not have; polling the others",
			"tracker", t.name, "unknown", unknown, "polled", known)
		t.dropStates(known)
		states = known
	}
}

// pollState remembers the open_states the site has, once a search found
// out that some do not exist.
type pollState struct {
	mu    sync.Mutex
	known []string
}

func (t *Tracker) pollStates() []string {
	t.poll.mu.Lock()
	defer t.poll.mu.Unlock()
	if t.poll.known != nil {
		return slices.Clone(t.poll.known)
	}
	return slices.Clone(t.openStates)
}

func (t *Tracker) dropStates(known []string) {
	t.poll.mu.Lock()
	defer t.poll.mu.Unlock()
	t.poll.known = slices.Clone(known)
}

type searchRequest struct {
	JQL           string   `json:"jql"`
	Fields        []string `json:"fields"`
	MaxResults    int      `json:"maxResults"`
	NextPageToken string   `json:"nextPageToken,omitempty"`
}

type searchResponse struct {
	Issues        []issueJSON `json:"issues"`
	NextPageToken string      `json:"nextPageToken"`
	IsLast        bool        `json:"isLast"`
}

// search runs jql through the enhanced search and reads every page.
func (t *Tracker) search(ctx context.Context, jql string) ([]trackers.Ticket, error) {
	req := searchRequest{JQL: jql, Fields: issueFieldList, MaxResults: searchPage}
	seen := map[string]bool{}
	var out []trackers.Ticket
	for page := 1; ; page++ {
		var resp searchResponse
		err := t.api.do(ctx, fmt.Sprintf("search issues (page %d)", page),
			request{method: http.MethodPost, path: "/search/jql", body: req, idempotent: true}, &resp)
		if err != nil {
			return nil, err
		}
		for _, is := range resp.Issues {
			// Lifecycle labels are excluded by the query already; the
			// check here keeps a label added mid-poll from slipping
			// through on a later page.
			tk := t.ticketOf(is, nil, trackers.Identity{})
			if seen[is.Key] || trackers.HasLifecycle(tk.Labels) {
				continue
			}
			seen[is.Key] = true
			out = append(out, tk)
		}
		if resp.IsLast || resp.NextPageToken == "" {
			return out, nil
		}
		if resp.NextPageToken == req.NextPageToken {
			return nil, errors.New("search issues: Jira returned the same nextPageToken twice")
		}
		req.NextPageToken = resp.NextPageToken
	}
}

// candidatesJQL is the query of Candidates: the project's issues in one of
// states with one of labels and none of the lifecycle labels. (A NOT IN
// never matches an issue without labels, which the labels IN excludes
// anyway.)
func candidatesJQL(project string, states, labels []string) string {
	lifecycle := make([]string, 0, len(trackers.Lifecycles))
	for _, l := range trackers.Lifecycles {
		lifecycle = append(lifecycle, l.Label())
	}
	return fmt.Sprintf("project = %s AND status in (%s) AND labels in (%s) AND labels not in (%s) ORDER BY created ASC",
		jqlString(project), jqlList(states), jqlList(labels), jqlList(lifecycle))
}

var jqlEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)

// jqlString quotes a JQL value, so reserved characters (- : space …) are
// taken literally.
func jqlString(s string) string { return `"` + jqlEscaper.Replace(s) + `"` }

func jqlList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = jqlString(v)
	}
	return strings.Join(quoted, ", ")
}

var unknownStatus = regexp.MustCompile(`^The value '(.*)' does not exist for the field 'status'\.$`)

// unknownStatuses are the statuses a refused search named as not existing.
func unknownStatuses(err error) []string {
	e, ok := errors.AsType[*apiError](err)
	if !ok || e.status != http.StatusBadRequest {
		return nil
	}
	var out []string
	for _, m := range e.messages {
		if sub := unknownStatus.FindStringSubmatch(m); sub != nil {
			out = append(out, sub[1])
		}
	}
	return out
}
