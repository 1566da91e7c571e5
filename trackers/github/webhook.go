package github

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	gh "github.com/google/go-github/v88/github"

	"github.com/agent-smith/agent-smith/trackers"
)

// The webhook headers GitHub sends.
const (
	headerSignature = "X-Hub-Signature-256"
	headerEvent     = "X-GitHub-Event"
	headerDelivery  = "X-GitHub-Delivery"
)

// VerifyWebhook checks X-Hub-Signature-256, the HMAC-SHA256 of the body
// under the webhook secret, in constant time. A delivery without it is
// refused: the legacy SHA-1 header alone is not accepted.
func (t *Tracker) VerifyWebhook(h http.Header, body []byte) error {
	if len(t.secret) == 0 {
		return fmt.Errorf("tracker %s: %w", t.name, trackers.ErrNoWebhookSecret)
	}
	sig := h.Get(headerSignature)
	if sig == "" {
		return fmt.Errorf("no %s header (is a secret set on the GitHub webhook?): %w", headerSignature, trackers.ErrUnauthorized)
	}
	if !strings.HasPrefix(sig, "sha256=") {
		return fmt.Errorf("%s is not a sha256= signature: %w", headerSignature, trackers.ErrUnauthorized)
	}
	if err := gh.ValidateSignature(sig, body, t.secret); err != nil {
		return fmt.Errorf("%s does not match the body: %w", headerSignature, trackers.ErrUnauthorized)
	}
	return nil
}

// The parts of GitHub's webhook payloads agent-smith reads. Decoding only
// these (instead of go-github's full event types, which allocate every
// field of the issue, repository and users) keeps the request path cheap,
// and so does goccy/go-json: on an 8 KB delivery it decodes these structs
// about four times faster than encoding/json, which was the largest cost
// of a delivery. FuzzPayloadDecodersAgree holds it to encoding/json.
type payload struct {
	Action     string        `json:"action"`
	Issue      *issuePayload `json:"issue"`
	Label      *namePayload  `json:"label"`
	Comment    *commentData  `json:"comment"`
	Repository *repoPayload  `json:"repository"`
}

type repoPayload struct {
	ID       int64  `json:"id"`
	FullName string `json:"full_name"`
	CloneURL string `json:"clone_url"`
}

type issuePayload struct {
	Number      int           `json:"number"`
	Title       string        `json:"title"`
	Body        *string       `json:"body"`
	HTMLURL     string        `json:"html_url"`
	State       string        `json:"state"`
	Labels      []namePayload `json:"labels"`
	Assignee    *userPayload  `json:"assignee"`
	PullRequest *struct{}     `json:"pull_request"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

type namePayload struct {
	Name string `json:"name"`
}

type userPayload struct {
	ID    int64  `json:"id"`
	Login string `json:"login"`
	Type  string `json:"type"`
}

type commentData struct {
	ID                int64       `json:"id"`
	Body              string      `json:"body"`
	User              userPayload `json:"user"`
	AuthorAssociation string      `json:"author_association"`
	CreatedAt         time.Time   `json:"created_at"`
}

// ParseWebhook normalizes a verified delivery: issues (opened, reopened,
// labeled; closed and unlabeled withdraw the ticket) and issue_comment
// (created) on issues, and ping. Everything else
// parses to an Event with Ignore set.
func (t *Tracker) ParseWebhook(h http.Header, body []byte) (trackers.Event, error) {
	event := h.Get(headerEvent)
	if event == "" {
		return trackers.Event{}, fmt.Errorf("no %s header: %w", headerEvent, trackers.ErrBadPayload)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return trackers.Event{}, fmt.Errorf("%s delivery: body is not a JSON object: %w", event, trackers.ErrBadPayload)
	}
	var p payload
	if err := gojson.Unmarshal(body, &p); err != nil {
		return trackers.Event{}, fmt.Errorf("%s delivery: %w: %w", event, trackers.ErrBadPayload, err)
	}
	ev, err := t.normalize(event, &p)
	if err != nil {
		return trackers.Event{}, fmt.Errorf("%s delivery: %w: %w", event, trackers.ErrBadPayload, err)
	}
	ev.DeliveryID = h.Get(headerDelivery)
	return ev, nil
}

// normalize turns a decoded payload into an Event; it is pure.
func (t *Tracker) normalize(event string, p *payload) (trackers.Event, error) {
	ev := trackers.Event{Name: event}
	if p.Action != "" {
		ev.Name = event + "." + p.Action
	}
	switch event {
	case "ping":
		ev.Kind = trackers.EventPing
		return ev, nil
	case "issues", "issue_comment":
	default:
		ev.Kind, ev.Ignore = trackers.EventTicket, fmt.Sprintf("event %s is not handled", event)
		return ev, nil
	}
	// An organization's webhook sends every repository's issues: issue 1
	// of another repository is not this tracker's issue 1.
	if why := t.notMine(p.Repository); why != "" {
		ev.Kind, ev.Ignore = trackers.EventTicket, why
		return ev, nil
	}
	if p.Issue == nil || p.Issue.Number <= 0 {
		return ev, fmt.Errorf("%s without an issue number", ev.Name)
	}
	ev.Ticket = ticketFromPayload(p)
	if event == "issue_comment" {
		return t.commentEvent(ev, p)
	}
	ev.Kind = trackers.EventTicket
	if p.Issue.PullRequest != nil {
		ev.Ignore = "pull requests are not tickets"
		return ev, nil
	}
	open := slices.ContainsFunc(t.openStates, func(s string) bool { return strings.EqualFold(s, ev.Ticket.State) })
	switch p.Action {
	case "labeled":
		if p.Label == nil || p.Label.Name == "" {
			return ev, fmt.Errorf("%s without a label", ev.Name)
		}
		switch {
		case !t.isTrigger(p.Label.Name):
			ev.Ignore = fmt.Sprintf("label %q is not a trigger label", p.Label.Name)
		case !open:
			ev.Ignore = fmt.Sprintf("issue is %s", ev.Ticket.State)
		default:
			ev.Trigger = fmt.Sprintf("label %s added", p.Label.Name)
			ev.Mark = trackers.MarkAt("label:"+p.Label.Name, p.Issue.UpdatedAt)
		}
	case "opened", "reopened":
		label := t.triggerLabelOf(ev.Ticket.Labels)
		switch {
		case label == "":
			ev.Ignore = fmt.Sprintf("issue %s without a trigger label", p.Action)
		case !open:
			ev.Ignore = fmt.Sprintf("issue is %s", ev.Ticket.State)
		default:
			ev.Trigger = fmt.Sprintf("issue %s with label %s", p.Action, label)
			ev.Mark = trackers.MarkAt(p.Action, p.Issue.UpdatedAt)
		}
	case "closed":
		ev.Withdrawn = trackers.Closed("")
	case "unlabeled":
		if p.Label == nil || p.Label.Name == "" {
			return ev, fmt.Errorf("%s without a label", ev.Name)
		}
		ev.Withdrawn, ev.Ignore = trackers.Unlabeled("label", []string{p.Label.Name}, ev.Ticket.Labels, t.isTrigger)
	default:
		ev.Ignore = fmt.Sprintf("action %s is not work", p.Action)
	}
	return ev, nil
}

func (t *Tracker) commentEvent(ev trackers.Event, p *payload) (trackers.Event, error) {
	ev.Kind = trackers.EventComment
	if p.Comment == nil {
		return ev, fmt.Errorf("%s without a comment", ev.Name)
	}
	c := p.Comment
	ev.Comment = &trackers.Comment{
		ID:        strconv.FormatInt(c.ID, 10),
		Author:    c.User.Login,
		Body:      c.Body,
		Trusted:   trusted(c.AuthorAssociation),
		CreatedAt: c.CreatedAt,
	}
	ev.Mark = trackers.MarkAt("comment:"+ev.Comment.ID, c.CreatedAt)
	self, known := t.self.Cached()
	ev.Comment.Own = known && owns(self, c.User.ID, c.Body)
	switch {
	case p.Action != "created":
		ev.Ignore = fmt.Sprintf("comment %s; only new comments are read", p.Action)
	case p.Issue.PullRequest != nil:
		ev.Ignore = "comment on a pull request; pull requests are not tickets"
	case ev.Comment.Own:
		ev.Ignore = fmt.Sprintf("comment by agent-smith itself (%s)", c.User.Login)
	case strings.EqualFold(c.User.Type, "Bot"):
		// Bots (agent-smith's App among them) do not instruct it.
		ev.Ignore = fmt.Sprintf("comment by bot %s", c.User.Login)
	case !known:
		ev.Ignore = fmt.Sprintf("which GitHub account agent-smith is on tracker %s is still being learned, so whether %s's comment is its own is not known yet; comment again in a minute", t.name, c.User.Login)
	}
	return ev, nil
}

// notMine says why a delivery about repository r is not for this
// tracker, or "" when it is: r is the tracker's repository by its full
// name (case does not matter on GitHub) or, after a rename, by the id
// learned with the tracker's identity.
func (t *Tracker) notMine(r *repoPayload) string {
	want := t.repo
	switch {
	case r == nil:
		return fmt.Sprintf("not this tracker's repository (the delivery names no repository; tracker %s reads %s)", t.name, want)
	case strings.EqualFold(r.FullName, want):
		return ""
	case r.ID != 0 && r.ID == t.repoID.Load():
		return ""
	}
	return fmt.Sprintf("not this tracker's repository (the delivery is for %s; tracker %s reads %s)", r.FullName, t.name, want)
}

// knownEvents are the event names GitHub's issue webhooks carry.
var knownEvents = func() []string {
	names := []string{"ping"}
	for _, a := range []string{"opened", "edited", "deleted", "pinned", "unpinned", "closed", "reopened", "assigned",
		"unassigned", "labeled", "unlabeled", "locked", "unlocked", "transferred", "milestoned", "demilestoned", "typed", "untyped"} {
		names = append(names, "issues."+a)
	}
	for _, a := range []string{"created", "edited", "deleted"} {
		names = append(names, "issue_comment."+a)
	}
	return names
}()

// KnownEvents lists the ping, issues and issue_comment event names.
func (t *Tracker) KnownEvents() []string { return slices.Clone(knownEvents) }

func ticketFromPayload(p *payload) trackers.Ticket {
	is := p.Issue
	t := trackers.Ticket{
		ID:    strconv.Itoa(is.Number),
		Title: is.Title,
		URL:   is.HTMLURL,
		State: is.State,
		Repo:  repoURLOf(is.HTMLURL),
	}
	if is.Body != nil {
		t.Body = *is.Body
	}
	if p.Repository != nil && p.Repository.CloneURL != "" {
		t.Repo = p.Repository.CloneURL
	}
	for _, l := range is.Labels {
		t.Labels = append(t.Labels, l.Name)
	}
	if is.Assignee != nil {
		t.Assignee = is.Assignee.Login
	}
	return t
}

func (t *Tracker) isTrigger(label string) bool {
	return !trackers.IsLifecycleLabel(label) && hasLabel(t.triggerLabels, label)
}

func (t *Tracker) triggerLabelOf(labels []string) string {
	for _, l := range labels {
		if t.isTrigger(l) {
			return l
		}
	}
	return ""
}
