package github

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/agent-smith/agent-smith/trackers"
)

// trustedAssociations are the author associations of people with write
// access. CONTRIBUTOR (someone whose pull request was once merged) and
// FIRST_TIME_CONTRIBUTOR are deliberately not trusted: they cannot push.
var trustedAssociations = []string{"OWNER", "MEMBER", "COLLABORATOR"}

func trusted(association string) bool {
	return slices.Contains(trustedAssociations, strings.ToUpper(association))
}

// issueNumber parses a ticket id: the issue number as a decimal string.
func issueNumber(id string) (int, error) {
	n, err := strconv.Atoi(id)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("ticket id %q is not a GitHub issue number: %w", id, trackers.ErrNotFound)
	}
	return n, nil
}

// repoURLOf is the repository clone URL belonging to an issue's web URL
// (https://host/owner/name/issues/7 → https://host/owner/name.git).
func repoURLOf(issueURL string) string {
	for _, sep := range []string{"/issues/", "/pull/"} {
		if i := strings.LastIndex(issueURL, sep); i > 0 {
			return issueURL[:i] + ".git"
		}
	}
	return ""
}

func ticketOf(is *gh.Issue, comments []*gh.IssueComment, self trackers.Identity) trackers.Ticket {
	t := trackers.Ticket{
		ID:    strconv.Itoa(is.GetNumber()),
		Title: is.GetTitle(),
		Body:  is.GetBody(),
		URL:   is.GetHTMLURL(),
		State: is.GetState(),
		Repo:  repoURLOf(is.GetHTMLURL()),
	}
	for _, l := range is.Labels {
		t.Labels = append(t.Labels, l.GetName())
	}
	if is.Assignee != nil {
		t.Assignee = is.Assignee.GetLogin()
	}
	for _, c := range comments {
		t.Comments = append(t.Comments, trackers.Comment{
			ID:        strconv.FormatInt(c.GetID(), 10),
			Author:    c.GetUser().GetLogin(),
			Body:      c.GetBody(),
			Trusted:   trusted(c.GetAuthorAssociation()),
			Own:       owns(self, c.GetUser().GetID(), c.GetBody()),
			CreatedAt: c.GetCreatedAt().Time,
		})
	}
	return t
}

func labelNames(ls []*gh.Label) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.GetName())
	}
	return out
}

func hasLabel(labels []string, want string) bool {
	return slices.ContainsFunc(labels, func(l string) bool { return strings.EqualFold(l, want) })
}
