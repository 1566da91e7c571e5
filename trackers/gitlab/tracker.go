package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
)

// Tracker is a GitLab project's issues as a trackers.Tracker.
type Tracker struct {
	name string
	api  *api
	// secretSum is the SHA-256 of webhook_secret; empty when none is set.
	secretSum     []byte
	triggerLabels []string
	openStates    []string
	members       *membership
	// judge is members.judge; the parser reads trust and the token's
	// own user only through it.
	judge func(userID int64) (verdict, trackers.Identity)

	// knownLabels are project labels known to exist, so a lifecycle label
	// is created (with its color) once per process, not on every change.
	knownLabels sync.Map
}

var _ trackers.Tracker = (*Tracker)(nil)

// New builds the tracker called name from its config entry: url is the
// instance root (gitlab.com or a self-managed instance), project the
// project's path with namespace (or its numeric id), auth the secret with
// an access token (personal, project or group) with the api scope. It
// makes no request.
func New(name string, t *config.Tracker, cfg *config.Config, opts ...Option) (*Tracker, error) {
	if t.Type != Type {
		return nil, fmt.Errorf("tracker %s is of type %s, not gitlab", name, t.Type)
	}
	o := options{log: logr.Discard()}
	for _, opt := range opts {
		opt(&o)
	}
	project := strings.Trim(t.Project, "/")
	if project == "" {
		return nil, fmt.Errorf("tracker %s: no project: set the project's path with namespace (group/name)", name)
	}
	tok, err := token("tracker "+name, t.Auth, cfg)
	if err != nil {
		return nil, err
	}
	a, err := newAPI(t.URL, project, tok, o)
	if err != nil {
		return nil, fmt.Errorf("tracker %s: %w", name, err)
	}
	tr := &Tracker{
		name: name, api: a,
		triggerLabels: append([]string(nil), t.TriggerLabels...),
		openStates:    openStatesOf(t.OpenStates),
		members:       newMembership(a, o.log.WithValues("tracker", name)),
	}
	tr.judge = tr.members.judge
	if t.WebhookSecret != "" {
		tr.secretSum = digest(t.WebhookSecret)
	}
	return tr, nil
}

// Name is the tracker's key in agentsmith.yml.
func (t *Tracker) Name() string { return t.name }

// Type is "gitlab".
func (t *Tracker) Type() string { return Type }

// RefreshMembers reads the project's members now, so notes are judged by
// current access levels. The wiring calls it once the tracker is built;
// afterwards the tracker refreshes the snapshot itself when it ages.
func (t *Tracker) RefreshMembers(ctx context.Context) error {
	if err := t.members.load(ctx); err != nil {
		return fmt.Errorf("tracker %s: %w", t.name, err)
	}
	return nil
}

// Self is the token's user, learned with the project's members (GET
// /user): the bot user of a project or group access token, which writes
// nothing but agent-smith's notes, or the person of a personal token.
func (t *Tracker) Self(ctx context.Context) (trackers.Identity, error) {
	if self := t.members.identity(); self.Known() {
		return self, nil
	}
	if err := t.members.ensureFresh(ctx); err != nil {
		return trackers.Identity{}, fmt.Errorf("tracker %s: learn which GitLab account agent-smith is: %w", t.name, err)
	}
	return t.members.identity(), nil
}

var _ trackers.Self = (*Tracker)(nil)

// Ticket reads an issue with its labels and every note that is not a
// system note, each marked Trusted by its author's access level (the
// membership snapshot is refreshed first when stale).
func (t *Tracker) Ticket(ctx context.Context, id string) (trackers.Ticket, error) {
	iid, err := issueIID(id)
	if err != nil {
		return trackers.Ticket{}, err
	}
	var is *gl.Issue
	err = t.api.Call(ctx, "get issue "+id, true, func(ctx context.Context) (err error) {
		is, _, err = t.api.gl.Issues.GetIssue(t.api.project, iid, gl.WithContext(ctx))
		return err
	})
	if err != nil {
		return trackers.Ticket{}, notFound(err)
	}
	notes, err := t.notes(ctx, iid)
	if err != nil {
		return trackers.Ticket{}, err
	}
	if err := t.members.ensureFresh(ctx); err != nil {
		return trackers.Ticket{}, fmt.Errorf("read issue %s: who may instruct agent-smith: %w", id, err)
	}
	tk := ticketOf(is)
	tk.Comments = commentsOf(notes, t.members)
	return tk, nil
}

func (t *Tracker) notes(ctx context.Context, iid int64) ([]*gl.Note, error) {
	var all []*gl.Note
	sortAsc, byCreated := "asc", "created_at"
	opts := &gl.ListIssueNotesOptions{ListOptions: gl.ListOptions{PerPage: 100}, Sort: &sortAsc, OrderBy: &byCreated}
	for {
		var page []*gl.Note
		var resp *gl.Response
		err := t.api.Call(ctx, fmt.Sprintf("list notes of issue %d (page %d)", iid, max(opts.Page, 1)), true, func(ctx context.Context) (err error) {
			page, resp, err = t.api.gl.Notes.ListIssueNotes(t.api.project, iid, opts, gl.WithContext(ctx))
			return err
		})
		if err != nil {
			return nil, notFound(err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// Comment posts a note and returns its id.
func (t *Tracker) Comment(ctx context.Context, id, body string) (string, error) {
	iid, err := issueIID(id)
	if err != nil {
		return "", err
	}
	var n *gl.Note
	err = t.api.Call(ctx, "comment on issue "+id, false, func(ctx context.Context) (err error) {
		n, _, err = t.api.gl.Notes.CreateIssueNote(t.api.project, iid, &gl.CreateIssueNoteOptions{Body: &body}, gl.WithContext(ctx))
		return err
	})
	if err != nil {
		return "", notFound(err)
	}
	return strconv.FormatInt(n.ID, 10), nil
}

// EditComment replaces the body of a note (the run's status note).
func (t *Tracker) EditComment(ctx context.Context, id, commentID, body string) error {
	iid, err := issueIID(id)
	if err != nil {
		return err
	}
	nid, err := strconv.ParseInt(commentID, 10, 64)
	if err != nil {
		return fmt.Errorf("edit note %q on issue %s: not a GitLab note id: %w", commentID, id, trackers.ErrNotFound)
	}
	err = t.api.Call(ctx, fmt.Sprintf("edit note %d on issue %s", nid, id), true, func(ctx context.Context) error {
		_, _, err := t.api.gl.Notes.UpdateIssueNote(t.api.project, iid, nid, &gl.UpdateIssueNoteOptions{Body: &body}, gl.WithContext(ctx))
		return err
	})
	return notFound(err)
}

// closedStatus is the done_status that closes the issue; any other
// non-empty done_status is added as a label.
const closedStatus = "closed"

// Complete posts comment, then moves the issue to doneStatus: "closed"
// closes it, anything else is added as a label (add_labels, so no other
// label is touched). GitLab has no single call for both; the note goes
// first so it is there when the close notification is read.
func (t *Tracker) Complete(ctx context.Context, id, doneStatus, comment string) error {
	iid, err := issueIID(id)
	if err != nil {
		return err
	}
	if comment != "" {
		if _, err := t.Comment(ctx, id, comment); err != nil {
			return fmt.Errorf("complete issue %s: %w", id, err)
		}
	}
	var opt *gl.UpdateIssueOptions
	switch {
	case doneStatus == "":
		return nil
	case strings.EqualFold(doneStatus, closedStatus):
		opt = &gl.UpdateIssueOptions{StateEvent: gl.Ptr("close")}
	default:
		if err := t.ensureLabel(ctx, doneStatus, doneLabelColor, "agent-smith finished this ticket"); err != nil {
			return fmt.Errorf("complete issue %s with done_status %q: %w", id, doneStatus, err)
		}
		opt = &gl.UpdateIssueOptions{AddLabels: &gl.LabelOptions{doneStatus}}
	}
	err = t.api.Call(ctx, fmt.Sprintf("move issue %s to done_status %q", id, doneStatus), true, func(ctx context.Context) error {
		_, _, err := t.api.gl.Issues.UpdateIssue(t.api.project, iid, opt, gl.WithContext(ctx))
		return err
	})
	if err != nil {
		return fmt.Errorf("complete issue %s: %w", id, notFound(err))
	}
	return nil
}

// notFound marks a 404 from GitLab with trackers.ErrNotFound.
func notFound(err error) error {
	if err != nil && statusOf(err) == http.StatusNotFound {
		return fmt.Errorf("%w: %w", trackers.ErrNotFound, err)
	}
	return err
}
