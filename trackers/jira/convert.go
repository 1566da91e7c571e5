package jira

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/jira/internal/adf"
)

// The parts of Jira's issue, user and comment representations agent-smith
// reads. The REST API v3 and webhooks (which carry v2 shapes) differ only
// in rich text: an ADF document in v3, a string in v2; richText takes
// both.
type issueJSON struct {
	ID     string      `json:"id"`
	Key    string      `json:"key"`
	Fields issueFields `json:"fields"`
}

type issueFields struct {
	Summary     string    `json:"summary"`
	Description richText  `json:"description"`
	Status      *status   `json:"status"`
	Labels      *[]string `json:"labels"` // nil: not in the payload
	Assignee    *userJSON `json:"assignee"`
	Project     *struct {
		Key string `json:"key"`
	} `json:"project"`
}

type named struct {
	Name string `json:"name"`
}

// status is an issue's status with its category: new, indeterminate or
// done, whatever the workflow calls the status itself.
type status struct {
	Name           string `json:"name"`
	StatusCategory *struct {
		Key string `json:"key"`
	} `json:"statusCategory"`
}

// done reports whether the status is of category done.
func (s *status) done() bool {
	return s != nil && s.StatusCategory != nil && strings.EqualFold(s.StatusCategory.Key, "done")
}

type userJSON struct {
	AccountID   string `json:"accountId"`
	DisplayName string `json:"displayName"`
	// AccountType is atlassian (a site account), app or customer (Jira
	// Service Management portal).
	AccountType string `json:"accountType"`
	Active      *bool  `json:"active"`
}

type commentJSON struct {
	ID      string    `json:"id"`
	Author  *userJSON `json:"author"`
	Body    richText  `json:"body"`
	Created jiraTime  `json:"created"`
}

// issueFieldList is what agent-smith asks Jira for.
var issueFieldList = []string{"summary", "description", "status", "labels", "assignee"}

// richText is a description or comment body as plain text. Quotes are
// marked "> " on every line, in ADF and in wiki markup alike, so that a
// quoted command is not taken for one.
type richText string

func (r *richText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*r = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = richText(markWikiQuotes(s))
	case len(b) > 0 && b[0] == '{':
		var n adf.Node
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("rich text: %w", err)
		}
		*r = richText(adf.Text(n))
	default:
		return fmt.Errorf("rich text is neither a string nor a document: %.20s", b)
	}
	return nil
}

// markWikiQuotes rewrites the quotes of Jira wiki markup, which REST v2
// and webhooks carry: {quote}…{quote} blocks and "bq. " lines.
func markWikiQuotes(s string) string {
	if !strings.Contains(s, "{quote}") && !strings.Contains(s, "bq. ") {
		return s
	}
	parts := strings.Split(s, "{quote}")
	for i := range parts {
		lines := strings.Split(parts[i], "\n")
		for j, l := range lines {
			switch {
			case i%2 == 1 && l != "":
				lines[j] = "> " + l
			case strings.HasPrefix(l, "bq. "):
				lines[j] = "> " + strings.TrimPrefix(l, "bq. ")
			}
		}
		parts[i] = strings.Join(lines, "\n")
	}
	return strings.Join(parts, "")
}

// jiraTime reads Jira's timestamps (2026-01-05T09:00:01.000+0000); one it
// cannot read is left zero rather than failing the whole payload.
type jiraTime time.Time

func (t *jiraTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano} {
		if v, err := time.Parse(layout, s); err == nil {
			*t = jiraTime(v)
			return nil
		}
	}
	return nil
}

// untrustedAccountTypes are accounts that may comment without being part
// of the team: portal customers and apps.
var untrustedAccountTypes = []string{"customer", "app"}

// trusted reports whether a comment author may instruct agent-smith: an
// active account that is neither a portal customer nor an app. Anonymous
// comments (no author) are not trusted.
func trusted(u *userJSON) bool {
	return u != nil && u.AccountID != "" && (u.Active == nil || *u.Active) &&
		!slices.Contains(untrustedAccountTypes, strings.ToLower(u.AccountType))
}

// who names a user for logs and comments.
func who(u *userJSON) string {
	switch {
	case u == nil:
		return "anonymous"
	case u.DisplayName != "":
		return u.DisplayName
	}
	return u.AccountID
}

var (
	keyPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*-[1-9][0-9]*$`)
	idPattern  = regexp.MustCompile(`^[1-9][0-9]*$`)
)

// issueRef checks a ticket id is an issue key (SHOP-7) or an issue id, so
// it is safe in a URL path.
func issueRef(id string) (string, error) {
	if keyPattern.MatchString(id) || idPattern.MatchString(id) {
		return id, nil
	}
	return "", fmt.Errorf("ticket id %q is not a Jira issue key: %w", id, trackers.ErrNotFound)
}

// ticketOf converts an issue (with its comments, when read, each Own by
// self) to a Ticket.
func (t *Tracker) ticketOf(is issueJSON, comments []commentJSON, self trackers.Identity) trackers.Ticket {
	tk := trackers.Ticket{
		ID:    is.Key,
		Title: is.Fields.Summary,
		Body:  string(is.Fields.Description),
		URL:   t.site + "/browse/" + is.Key,
	}
	if is.Fields.Status != nil {
		tk.State = is.Fields.Status.Name
	}
	if is.Fields.Labels != nil {
		tk.Labels = slices.Clone(*is.Fields.Labels)
	}
	if is.Fields.Assignee != nil {
		tk.Assignee = who(is.Fields.Assignee)
	}
	for _, c := range comments {
		tk.Comments = append(tk.Comments, commentOf(c, self))
	}
	return tk
}

func commentOf(c commentJSON, self trackers.Identity) trackers.Comment {
	author := ""
	if c.Author != nil {
		author = c.Author.AccountID
	}
	return trackers.Comment{
		ID: c.ID, Author: who(c.Author), Body: string(c.Body),
		Trusted: trusted(c.Author), Own: self.Owns(author, trackers.Marked(string(c.Body))),
		CreatedAt: time.Time(c.Created),
	}
}

func containsFold(list []string, want string) bool {
	return slices.ContainsFunc(list, func(l string) bool { return strings.EqualFold(l, want) })
}
