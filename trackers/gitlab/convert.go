package gitlab

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/agent-smith/agent-smith/trackers"
)

// GitLab calls an open issue "opened"; tickets say "open", the state
// open_states (default [open]) and trigger_statuses name.
const (
	stateOpen   = "open"
	stateClosed = "closed"
)

// ticketState is an issue's state as tickets report it.
func ticketState(gitlabState string) string {
	if gitlabState == "opened" {
		return stateOpen
	}
	return gitlabState
}

// openStatesOf normalizes open_states, where "opened" (GitLab's own word)
// means open too.
func openStatesOf(states []string) []string {
	out := make([]string, 0, len(states))
	for _, s := range states {
		out = append(out, ticketState(strings.ToLower(strings.TrimSpace(s))))
	}
	return out
}

// issueIID parses a ticket id: the issue iid as a decimal string.
func issueIID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("ticket id %q is not a GitLab issue iid: %w", id, trackers.ErrNotFound)
	}
	return n, nil
}

// repoURLOf is the repository clone URL belonging to an issue's web URL
// (https://host/group/name/-/issues/7 → https://host/group/name.git).
func repoURLOf(issueURL string) string {
	for _, sep := range []string{"/-/issues/", "/issues/", "/-/work_items/"} {
		if i := strings.LastIndex(issueURL, sep); i > 0 {
			return issueURL[:i] + ".git"
		}
	}
	return ""
}

func ticketOf(is *gl.Issue) trackers.Ticket {
	t := trackers.Ticket{
		ID:     strconv.FormatInt(is.IID, 10),
		Title:  is.Title,
		Body:   is.Description,
		URL:    is.WebURL,
		State:  ticketState(is.State),
		Labels: slices.Clone([]string(is.Labels)),
		Repo:   repoURLOf(is.WebURL),
	}
	if len(is.Assignees) > 0 {
		t.Assignee = is.Assignees[0].Username
	}
	return t
}

// commentsOf turns an issue's notes into comments, leaving out system
// notes (GitLab's record of label and state changes), with Trusted from
// the members' access levels and Own from the token's user.
func commentsOf(notes []*gl.Note, m *membership) []trackers.Comment {
	var out []trackers.Comment
	for _, n := range notes {
		if n.System {
			continue
		}
		level, self := m.levelOf(n.Author.ID)
		c := trackers.Comment{
			ID:      strconv.FormatInt(n.ID, 10),
			Author:  n.Author.Username,
			Body:    n.Body,
			Trusted: level >= trustedLevel,
			Own:     self.Owns(strconv.FormatInt(n.Author.ID, 10), trackers.Marked(n.Body)),
		}
		if n.CreatedAt != nil {
			c.CreatedAt = *n.CreatedAt
		}
		out = append(out, c)
	}
	return out
}

// hookTime parses a timestamp of a webhook payload: GitLab writes
// "2015-05-17 17:06:40 UTC" in note hooks and RFC 3339 elsewhere. A value
// it cannot read is the zero time, not an error: nothing decides on it.
func hookTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700", "2006-01-02T15:04:05.000-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func hasLabel(labels []string, want string) bool {
	return slices.ContainsFunc(labels, func(l string) bool { return strings.EqualFold(l, want) })
}
