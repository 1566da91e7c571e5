package gitlab

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/agent-smith/agent-smith/trackers"
)

// The webhook headers GitLab sends.
const (
	headerToken       = "X-Gitlab-Token"
	headerEvent       = "X-Gitlab-Event"
	headerIdempotency = "Idempotency-Key"
	headerEventUUID   = "X-Gitlab-Event-UUID"
)

// The X-Gitlab-Event values agent-smith reads, spelled exactly as GitLab
// sends them (the earlier implementation lower-cased the header and then
// compared it with these, so issue webhooks never matched). Events about
// confidential issues and internal notes come under their own names.
const (
	eventIssue             = "Issue Hook"
	eventConfidentialIssue = "Confidential Issue Hook"
	eventNote              = "Note Hook"
	eventConfidentialNote  = "Confidential Note Hook"
)

// VerifyWebhook checks X-Gitlab-Token, which GitLab sets to the webhook's
// secret token, against webhook_secret in constant time (both are hashed
// first, so not even the length is compared in the open). A delivery
// without the header is refused.
func (t *Tracker) VerifyWebhook(h http.Header, _ []byte) error {
	if len(t.secretSum) == 0 {
		return fmt.Errorf("tracker %s: %w", t.name, trackers.ErrNoWebhookSecret)
	}
	tok := h.Get(headerToken)
	if tok == "" {
		return fmt.Errorf("no %s header (set the GitLab webhook's secret token to the tracker's webhook_secret): %w", headerToken, trackers.ErrUnauthorized)
	}
	if subtle.ConstantTimeCompare(digest(tok), t.secretSum) != 1 {
		return fmt.Errorf("%s does not match the tracker's webhook_secret: %w", headerToken, trackers.ErrUnauthorized)
	}
	return nil
}

// digest is the SHA-256 of a secret token: comparing digests takes the
// same time whatever the lengths.
func digest(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// The parts of GitLab's Issue Hook and Note Hook payloads agent-smith
// reads (webhook events reference: "Work item events", "Comment events").
type payload struct {
	ObjectKind       string       `json:"object_kind"`
	User             *hookUser    `json:"user"`
	Project          *hookProject `json:"project"`
	ObjectAttributes *attributes  `json:"object_attributes"`
	// Issue Hook only.
	Labels    []hookLabel `json:"labels"`
	Assignees []hookUser  `json:"assignees"`
	Changes   *struct {
		Labels *struct {
			Previous []hookLabel `json:"previous"`
			Current  []hookLabel `json:"current"`
		} `json:"labels"`
	} `json:"changes"`
	// Note Hook only: the issue or merge request the note is on.
	Issue        *hookIssue `json:"issue"`
	MergeRequest *struct{}  `json:"merge_request"`
}

// attributes is object_attributes: the issue of an Issue Hook or the
// note of a Note Hook.
type attributes struct {
	ID          int64       `json:"id"`
	IID         int64       `json:"iid"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	State       string      `json:"state"`
	Action      string      `json:"action"`
	URL         string      `json:"url"`
	Type        string      `json:"type"`
	Labels      []hookLabel `json:"labels"`
	// Note fields.
	Note         string `json:"note"`
	NoteableType string `json:"noteable_type"`
	AuthorID     int64  `json:"author_id"`
	System       bool   `json:"system"`
	CreatedAt    string `json:"created_at"`
	UpdatedAt    string `json:"updated_at"`
}

type hookIssue struct {
	IID         int64       `json:"iid"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	State       string      `json:"state"`
	URL         string      `json:"url"`
	Labels      []hookLabel `json:"labels"`
}

type hookUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

type hookProject struct {
	ID                int64  `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
	WebURL            string `json:"web_url"`
	GitHTTPURL        string `json:"git_http_url"`
}

type hookLabel struct {
	Title string `json:"title"`
}

// ParseWebhook normalizes a verified delivery: Issue Hook (open, reopen,
// and update that adds a trigger label; close, and update that takes the
// last trigger label off, withdraw the ticket) and Note Hook on issues. Anything
// else parses to an Event with Ignore set. It never calls the API: who may
// instruct agent-smith comes from the membership snapshot.
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
	if err := json.Unmarshal(body, &p); err != nil {
		return trackers.Event{}, fmt.Errorf("%s delivery: %w: %w", event, trackers.ErrBadPayload, err)
	}
	ev, err := t.normalize(event, &p)
	if err != nil {
		return trackers.Event{}, fmt.Errorf("%s delivery: %w: %w", event, trackers.ErrBadPayload, err)
	}
	ev.DeliveryID = deliveryID(h)
	return ev, nil
}

// deliveryID prefers Idempotency-Key, which stays the same when GitLab
// retries a delivery or a user resends it, over X-Gitlab-Event-UUID, which
// GitLab versions before 17.4 send alone.
func deliveryID(h http.Header) string {
	if id := h.Get(headerIdempotency); id != "" {
		return id
	}
	return h.Get(headerEventUUID)
}

// normalize turns a decoded payload into an Event. It reads only the
// payload and, for notes, the membership snapshot.
func (t *Tracker) normalize(event string, p *payload) (trackers.Event, error) {
	ev := trackers.Event{Name: event}
	if p.ObjectAttributes != nil && p.ObjectAttributes.Action != "" {
		ev.Name = event + "." + p.ObjectAttributes.Action
	}
	switch event {
	case eventIssue, eventConfidentialIssue, eventNote, eventConfidentialNote:
	default:
		ev.Kind, ev.Ignore = trackers.EventTicket, fmt.Sprintf("event %s is not handled", event)
		return ev, nil
	}
	// A group's webhook sends every project's events: issue 1 of another
	// project is not this tracker's issue 1, and a note there is judged
	// by another project's members.
	if why := t.notMine(p.Project); why != "" {
		ev.Kind, ev.Ignore = trackers.EventTicket, why
		if event == eventNote || event == eventConfidentialNote {
			ev.Kind = trackers.EventComment
		}
		return ev, nil
	}
	if event == eventIssue || event == eventConfidentialIssue {
		return t.issueEvent(ev, p)
	}
	return t.noteEvent(ev, p)
}

func (t *Tracker) issueEvent(ev trackers.Event, p *payload) (trackers.Event, error) {
	a := p.ObjectAttributes
	if a == nil || a.IID <= 0 {
		return ev, fmt.Errorf("%s without an issue iid", ev.Name)
	}
	ev.Kind = trackers.EventTicket
	ev.Ticket = ticketFromIssueHook(p)
	switch {
	case p.ObjectKind == "work_item" && !strings.EqualFold(a.Type, "Issue"):
		ev.Ignore = fmt.Sprintf("work item of type %s is not an issue", a.Type)
		return ev, nil
	case p.ObjectKind != "issue" && p.ObjectKind != "work_item":
		ev.Ignore = fmt.Sprintf("object_kind %q is not an issue", p.ObjectKind)
		return ev, nil
	}
	open := slices.Contains(t.openStates, ev.Ticket.State)
	switch a.Action {
	case "open", "reopen":
		label := t.triggerLabelOf(ev.Ticket.Labels)
		switch {
		case label == "":
			ev.Ignore = fmt.Sprintf("issue %s without a trigger label", past(a.Action))
		case !open:
			ev.Ignore = fmt.Sprintf("issue is %s", ev.Ticket.State)
		default:
			ev.Trigger = fmt.Sprintf("issue %s with label %s", past(a.Action), label)
			ev.Mark = trackers.MarkAt(a.Action, hookTime(a.UpdatedAt))
		}
	case "update":
		if p.Changes == nil || p.Changes.Labels == nil {
			ev.Ignore = "update without a label change"
			return ev, nil
		}
		added := addedLabels(p.Changes.Labels.Previous, p.Changes.Labels.Current)
		label := t.triggerLabelOf(added)
		switch {
		case label == "" && len(added) == 0:
			removed := addedLabels(p.Changes.Labels.Current, p.Changes.Labels.Previous)
			ev.Withdrawn, ev.Ignore = trackers.Unlabeled("label", removed, titles(p.Changes.Labels.Current), t.isTrigger)
		case label == "":
			ev.Ignore = fmt.Sprintf("label %s added, not a trigger label", quoteAll(added))
		case !open:
			ev.Ignore = fmt.Sprintf("issue is %s", ev.Ticket.State)
		default:
			ev.Trigger = fmt.Sprintf("label %s added", label)
			ev.Mark = trackers.MarkAt("label:"+label, hookTime(a.UpdatedAt))
		}
	case "close":
		ev.Withdrawn = trackers.Closed("")
	default:
		ev.Ignore = fmt.Sprintf("action %s is not work", a.Action)
	}
	return ev, nil
}

func (t *Tracker) noteEvent(ev trackers.Event, p *payload) (trackers.Event, error) {
	a := p.ObjectAttributes
	if a == nil || a.ID <= 0 {
		return ev, fmt.Errorf("%s without a note id", ev.Name)
	}
	ev.Kind = trackers.EventComment
	switch a.NoteableType {
	case "Issue":
	case "MergeRequest":
		ev.Ignore = "note on a merge request; merge requests are not tickets"
		return ev, nil
	default:
		ev.Ignore = fmt.Sprintf("note on a %s is not about a ticket", a.NoteableType)
		return ev, nil
	}
	if p.Issue == nil || p.Issue.IID <= 0 {
		return ev, fmt.Errorf("%s on an issue without the issue's iid", ev.Name)
	}
	ev.Ticket = ticketFromNoteHook(p)
	authorID, author := a.AuthorID, ""
	if p.User != nil {
		author = p.User.Username
		if authorID == 0 {
			authorID = p.User.ID
		}
	}
	ev.Comment = &trackers.Comment{ID: strconv.FormatInt(a.ID, 10), Author: author, Body: a.Note, CreatedAt: hookTime(a.CreatedAt)}
	ev.Mark = trackers.MarkAt("note:"+ev.Comment.ID, ev.Comment.CreatedAt)
	switch {
	case a.Action != "" && a.Action != "create":
		ev.Ignore = fmt.Sprintf("note %s; only new notes are read", past(a.Action))
		return ev, nil
	case a.System:
		ev.Ignore = "system note"
		return ev, nil
	}
	v, self := t.judge(authorID)
	ev.Comment.Own = self.Owns(strconv.FormatInt(authorID, 10), trackers.Marked(a.Note))
	switch {
	case ev.Comment.Own:
		ev.Ignore = fmt.Sprintf("note by agent-smith's own account %s", author)
	case v == trusted:
		ev.Comment.Trusted = true
	case v == unknown:
		ev.Ignore = fmt.Sprintf("the members of project %s are still being read, so whether %s may instruct agent-smith is not known yet; comment again in a minute", t.api.project, author)
	}
	return ev, nil
}

// notMine says why a delivery about project pr is not for this tracker,
// or "" when it is: pr is the tracker's project by its numeric id (as
// configured, or as learned with the members) or its path, whose case
// does not matter on GitLab.
func (t *Tracker) notMine(pr *hookProject) string {
	want := t.api.project
	switch {
	case pr == nil:
		return fmt.Sprintf("not this tracker's repository (the delivery names no project; tracker %s reads %s)", t.name, want)
	case pr.ID != 0 && (strconv.FormatInt(pr.ID, 10) == want || pr.ID == t.members.projectID()):
		return ""
	case pr.PathWithNamespace != "" && strings.EqualFold(pr.PathWithNamespace, want):
		return ""
	}
	return fmt.Sprintf("not this tracker's repository (the delivery is for project %s; tracker %s reads %s)",
		cmp.Or(pr.PathWithNamespace, strconv.FormatInt(pr.ID, 10)), t.name, want)
}

// knownEvents are the event names GitLab's issue and note webhooks carry.
var knownEvents = func() []string {
	var names []string
	for _, hook := range []string{eventIssue, eventConfidentialIssue} {
		names = append(names, hook)
		for _, a := range []string{"open", "close", "reopen", "update"} {
			names = append(names, hook+"."+a)
		}
	}
	for _, hook := range []string{eventNote, eventConfidentialNote} {
		names = append(names, hook, hook+".create", hook+".update")
	}
	return names
}()

// KnownEvents lists the Issue Hook and Note Hook event names (plain and
// confidential, with their actions).
func (t *Tracker) KnownEvents() []string { return slices.Clone(knownEvents) }

func ticketFromIssueHook(p *payload) trackers.Ticket {
	a := p.ObjectAttributes
	labels := p.Labels
	if labels == nil {
		labels = a.Labels
	}
	t := trackers.Ticket{
		ID:     strconv.FormatInt(a.IID, 10),
		Title:  a.Title,
		Body:   a.Description,
		URL:    a.URL,
		State:  ticketState(a.State),
		Labels: titles(labels),
		Repo:   repoOf(p, a.URL),
	}
	if len(p.Assignees) > 0 {
		t.Assignee = p.Assignees[0].Username
	}
	return t
}

func ticketFromNoteHook(p *payload) trackers.Ticket {
	is := p.Issue
	u := is.URL
	if u == "" {
		// The note's URL is the issue's with a #note_… fragment.
		u, _, _ = strings.Cut(p.ObjectAttributes.URL, "#")
	}
	if u == "" && p.Project != nil && p.Project.WebURL != "" {
		u = fmt.Sprintf("%s/-/issues/%d", strings.TrimRight(p.Project.WebURL, "/"), is.IID)
	}
	return trackers.Ticket{
		ID:     strconv.FormatInt(is.IID, 10),
		Title:  is.Title,
		Body:   is.Description,
		URL:    u,
		State:  ticketState(is.State),
		Labels: titles(is.Labels),
		Repo:   repoOf(p, u),
	}
}

// repoOf is the clone URL of the payload's project, else derived from the
// issue's web URL.
func repoOf(p *payload, issueURL string) string {
	if p.Project != nil && p.Project.GitHTTPURL != "" {
		return p.Project.GitHTTPURL
	}
	return repoURLOf(issueURL)
}

func titles(ls []hookLabel) []string {
	var out []string
	for _, l := range ls {
		if l.Title != "" {
			out = append(out, l.Title)
		}
	}
	return out
}

// addedLabels are the labels in current that previous lacks.
func addedLabels(previous, current []hookLabel) []string {
	before := titles(previous)
	var added []string
	for _, l := range titles(current) {
		if !hasLabel(before, l) {
			added = append(added, l)
		}
	}
	return added
}

// past is an action as the logs and replies say it ("open" → "opened").
func past(action string) string {
	switch action {
	case "open", "reopen":
		return action + "ed"
	case "update", "close":
		return action + "d"
	}
	return action
}

func quoteAll(ls []string) string {
	q := make([]string, len(ls))
	for i, l := range ls {
		q[i] = strconv.Quote(l)
	}
	return strings.Join(q, ", ")
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
