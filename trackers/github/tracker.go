package github

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	gh "github.com/google/go-github/v88/github"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/internal/account"
)

// Tracker is a GitHub repository's issues as a trackers.Tracker.
type Tracker struct {
	name string
	// repo is the repository the tickets live in, owner/name.
	repo          string
	api           *api
	secret        []byte
	triggerLabels []string
	openStates    []string

	// knownLabels are repository labels known to exist, so a lifecycle
	// label is looked up or created once per process, not on every change.
	knownLabels sync.Map
	// self is the account the tracker acts as.
	self *account.Account
	// repoID is the repository's id, learned with self: deliveries of a
	// renamed repository still name it.
	repoID atomic.Int64
}

var _ trackers.Tracker = (*Tracker)(nil)

// New builds the tracker called name from its config entry. Secrets (the
// token named by auth, the App private key, the webhook secret) come from
// cfg. It makes no request.
func New(name string, t *config.Tracker, cfg *config.Config, opts ...Option) (*Tracker, error) {
	if t.Type != Type {
		return nil, fmt.Errorf("tracker %s is of type %s, not github", name, t.Type)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cred, err := trackerCredentials(name, t, cfg)
	if err != nil {
		return nil, err
	}
	a, err := newAPI(t.URL, t.Project, cred, true, o)
	if err != nil {
		return nil, fmt.Errorf("tracker %s: %w", name, err)
	}
	tr := &Tracker{
		name: name, repo: a.owner + "/" + a.repo, api: a, secret: []byte(t.WebhookSecret),
		triggerLabels: append([]string(nil), t.TriggerLabels...),
		openStates:    append([]string(nil), t.OpenStates...),
	}
	tr.self = account.New(tr.learn)
	return tr, nil
}

// Name is the tracker's key in agentsmith.yml.
func (t *Tracker) Name() string { return t.name }

// Type is "github".
func (t *Tracker) Type() string { return Type }

// Ticket reads an issue with its labels and every comment, each marked
// Own when agent-smith's account wrote it. Pull requests are not tickets:
// their numbers answer ErrNotFound.
func (t *Tracker) Ticket(ctx context.Context, id string) (trackers.Ticket, error) {
	n, err := issueNumber(id)
	if err != nil {
		return trackers.Ticket{}, err
	}
	self, err := t.Self(ctx)
	if err != nil {
		return trackers.Ticket{}, fmt.Errorf("read issue %s: %w", id, err)
	}
	var is *gh.Issue
	err = t.api.Call(ctx, "get issue "+id, true, func(ctx context.Context) (err error) {
		is, _, err = t.api.gh.Issues.Get(ctx, t.api.owner, t.api.repo, n)
		return err
	})
	if err != nil {
		return trackers.Ticket{}, notFound(err)
	}
	if is.IsPullRequest() {
		return trackers.Ticket{}, fmt.Errorf("#%d is a pull request, not an issue: %w", n, trackers.ErrNotFound)
	}
	comments, err := t.comments(ctx, n)
	if err != nil {
		return trackers.Ticket{}, err
	}
	return ticketOf(is, comments, self), nil
}

func (t *Tracker) comments(ctx context.Context, n int) ([]*gh.IssueComment, error) {
	var all []*gh.IssueComment
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		var page []*gh.IssueComment
		var resp *gh.Response
		err := t.api.Call(ctx, fmt.Sprintf("list comments of issue %d", n), true, func(ctx context.Context) (err error) {
			page, resp, err = t.api.gh.Issues.ListComments(ctx, t.api.owner, t.api.repo, n, opts)
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// Comment posts a comment and returns its id.
func (t *Tracker) Comment(ctx context.Context, id, body string) (string, error) {
	n, err := issueNumber(id)
	if err != nil {
		return "", err
	}
	var c *gh.IssueComment
	err = t.api.Call(ctx, "comment on issue "+id, false, func(ctx context.Context) (err error) {
		c, _, err = t.api.gh.Issues.CreateComment(ctx, t.api.owner, t.api.repo, n, &gh.IssueComment{Body: &body})
		return err
	})
	if err != nil {
		return "", notFound(err)
	}
	return strconv.FormatInt(c.GetID(), 10), nil
}

// EditComment replaces the body of a comment (the run's status comment).
func (t *Tracker) EditComment(ctx context.Context, id, commentID, body string) error {
	cid, err := strconv.ParseInt(commentID, 10, 64)
	if err != nil {
		return fmt.Errorf("edit comment %q on issue %s: not a GitHub comment id: %w", commentID, id, trackers.ErrNotFound)
	}
	err = t.api.Call(ctx, fmt.Sprintf("edit comment %d on issue %s", cid, id), true, func(ctx context.Context) error {
		_, _, err := t.api.gh.Issues.EditComment(ctx, t.api.owner, t.api.repo, cid, &gh.IssueComment{Body: &body})
		return err
	})
	return notFound(err)
}

// closedStatus is the done_status that closes the issue; any other
// non-empty done_status is added as a label.
const closedStatus = "closed"

// Complete posts comment, then moves the issue to doneStatus: "closed"
// closes it as completed, anything else is added as a label. GitHub has no
// single call for both; the comment goes first so it is there when the
// closing notification is read.
func (t *Tracker) Complete(ctx context.Context, id, doneStatus, comment string) error {
	n, err := issueNumber(id)
	if err != nil {
		return err
	}
	if comment != "" {
		if _, err := t.Comment(ctx, id, comment); err != nil {
			return fmt.Errorf("complete issue %s: %w", id, err)
		}
	}
	switch {
	case doneStatus == "":
		return nil
	case strings.EqualFold(doneStatus, closedStatus):
		state, reason := "closed", "completed"
		err = t.api.Call(ctx, "close issue "+id, true, func(ctx context.Context) error {
			_, _, err := t.api.gh.Issues.Edit(ctx, t.api.owner, t.api.repo, n, &gh.IssueRequest{State: &state, StateReason: &reason})
			return err
		})
	default:
		err = t.addLabel(ctx, n, doneStatus, doneLabelColor, "agent-smith finished this ticket")
	}
	if err != nil {
		return fmt.Errorf("complete issue %s: %w", id, notFound(err))
	}
	return nil
}

// notFound marks a 404 from GitHub with trackers.ErrNotFound.
func notFound(err error) error {
	if err != nil && statusOf(err) == http.StatusNotFound {
		return fmt.Errorf("%w: %w", trackers.ErrNotFound, err)
	}
	return err
}
