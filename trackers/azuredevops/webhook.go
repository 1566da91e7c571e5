package azuredevops

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/trackers"
)

// SecretHeader is the header a service hook may carry the webhook_secret
// in, instead of (or besides) the basic-auth password: in the Web Hooks
// action of a service hook subscription, put
// "X-AgentSmith-Secret: {webhook_secret}" in "HTTP headers".
const SecretHeader = "X-AgentSmith-Secret"

// VerifyWebhook checks the delivery's credential against webhook_secret in
// constant time. Service hooks authenticate with basic auth: the password
// is the secret, the user name is ignored (Azure DevOps requires one; any
// will do). SecretHeader is accepted too, for subscriptions set up with a
// header instead. A delivery passes when one of them holds the secret.
func (t *Tracker) VerifyWebhook(h http.Header, _ []byte) error {
	if len(t.secret) == 0 {
		return fmt.Errorf("tracker %s: %w", t.name, trackers.ErrNoWebhookSecret)
	}
	var presented []string
	if _, pass, ok := basicAuth(h); ok {
		if t.secretIs(pass) {
			return nil
		}
		presented = append(presented, "basic-auth password")
	}
	if v := h.Get(SecretHeader); v != "" {
		if t.secretIs(v) {
			return nil
		}
		presented = append(presented, SecretHeader)
	}
	if len(presented) == 0 {
		return fmt.Errorf("no credential: set the webhook_secret as basic-auth password on the service hook (or send %s): %w", SecretHeader, trackers.ErrUnauthorized)
	}
	return fmt.Errorf("%s does not match the webhook_secret: %w", strings.Join(presented, " and "), trackers.ErrUnauthorized)
}

// secretIs compares v with the secret in constant time; hashing first
// keeps the comparison from revealing the secret's length.
func (t *Tracker) secretIs(v string) bool {
	a, b := sha256.Sum256([]byte(v)), sha256.Sum256(t.secret)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func basicAuth(h http.Header) (user, pass string, ok bool) {
	r := http.Request{Header: h}
	return r.BasicAuth()
}

// The service hook events agent-smith reads.
const (
	eventCreated   = "workitem.created"
	eventUpdated   = "workitem.updated"
	eventCommented = "workitem.commented"
)

// envelope is a service hook delivery.
type envelope struct {
	// ID is the event's id, the same on every retry of the delivery.
	ID              string    `json:"id"`
	EventType       string    `json:"eventType"`
	Resource        *resource `json:"resource"`
	DetailedMessage struct {
		Text string `json:"text"`
	} `json:"detailedMessage"`
}

// resource is the work item of workitem.created and workitem.commented,
// or the update of workitem.updated (its id is the update's; the work item
// is workItemId, its fields after the update are revision.fields, and
// fields holds the changed ones as oldValue/newValue).
type resource struct {
	ID         int `json:"id"`
	WorkItemID int `json:"workItemId"`
	// Rev is the work item's revision after the event.
	Rev      int    `json:"rev"`
	Fields   fields `json:"fields"`
	Revision *struct {
		ID     int    `json:"id"`
		Rev    int    `json:"rev"`
		Fields fields `json:"fields"`
	} `json:"revision"`
	CommentVersionRef *struct {
		CommentID int `json:"commentId"`
	} `json:"commentVersionRef"`
}

func workItemEvent(eventType string) bool {
	return eventType == eventCreated || eventType == eventUpdated || eventType == eventCommented
}

// change is a field's value before and after a workitem.updated.
type change struct {
	OldValue json.RawMessage `json:"oldValue"`
	NewValue json.RawMessage `json:"newValue"`
}

// ParseWebhook normalizes a verified delivery: workitem.created (with a
// trigger tag), workitem.updated (a trigger tag added, or the state moved
// into an open state) and workitem.commented. Other events parse to an
// Event with Ignore set. The delivery id is the event's id.
func (t *Tracker) ParseWebhook(_ http.Header, body []byte) (trackers.Event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return trackers.Event{}, fmt.Errorf("service hook delivery: body is not a JSON object: %w", trackers.ErrBadPayload)
	}
	// One pass decodes the envelope with its work item resource. Other
	// events carry other resources, which may not fit: for those only the
	// event's name and id are read, to say they are not handled.
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		var head struct {
			ID        string `json:"id"`
			EventType string `json:"eventType"`
		}
		if json.Unmarshal(body, &head) != nil || workItemEvent(head.EventType) || head.EventType == "" {
			return trackers.Event{}, fmt.Errorf("service hook delivery: %w: %w", trackers.ErrBadPayload, err)
		}
		env = envelope{ID: head.ID, EventType: head.EventType}
	}
	if env.EventType == "" {
		return trackers.Event{}, fmt.Errorf("service hook delivery without eventType: %w", trackers.ErrBadPayload)
	}
	ev, err := t.normalize(&env)
	if err != nil {
		return trackers.Event{}, fmt.Errorf("%s delivery: %w: %w", env.EventType, trackers.ErrBadPayload, err)
	}
	ev.DeliveryID = env.ID
	return ev, nil
}

// normalize turns a decoded delivery into an Event; it is pure.
func (t *Tracker) normalize(env *envelope) (trackers.Event, error) {
	ev := trackers.Event{Name: env.EventType, Kind: trackers.EventTicket}
	if !workItemEvent(env.EventType) {
		ev.Ignore = fmt.Sprintf("event %s is not handled", env.EventType)
		return ev, nil
	}
	r := env.Resource
	if r == nil {
		return ev, errors.New(`no work item resource (set "Resource details to send" to All on the service hook)`)
	}
	id, full := r.ID, r.Fields
	if env.EventType == eventUpdated {
		if r.Revision == nil {
			return ev, errors.New(`update without revision (set "Resource details to send" to All on the service hook)`)
		}
		id, full = cmp.Or(r.WorkItemID, r.Revision.ID), r.Revision.Fields
	}
	if id <= 0 {
		return ev, errors.New("no work item id")
	}
	if len(full) == 0 {
		return ev, errors.New(`no work item fields (set "Resource details to send" to All on the service hook)`)
	}
	ev.Ticket = t.ticketOf(id, full, nil)
	if env.EventType == eventCommented {
		ev.Kind = trackers.EventComment
	}
	if p := full.str(fieldTeamProject); p != "" && !strings.EqualFold(p, t.project) {
		ev.Ignore = fmt.Sprintf("work item of project %s; this tracker reads %s", p, t.project)
		return ev, nil
	}
	switch env.EventType {
	case eventCreated:
		t.created(&ev)
	case eventUpdated:
		t.updated(&ev, r.Fields)
	case eventCommented:
		t.commented(&ev, env, r)
	}
	ev.Mark = markOf(ev, r)
	return ev, nil
}

// markOf places a triggering event by the work item's revision, which
// every change, a comment included, increments.
func markOf(ev trackers.Event, r *resource) trackers.Mark {
	rev := r.Rev
	if r.Revision != nil {
		rev = cmp.Or(r.Revision.Rev, rev)
	}
	switch {
	case ev.Comment != nil && ev.Comment.ID != "":
		return trackers.Mark{Key: "comment:" + ev.Comment.ID, Seq: int64(rev)}
	case ev.Trigger != "":
		return trackers.Mark{Key: "rev:" + strconv.Itoa(rev), Seq: int64(rev)}
	}
	return trackers.Mark{}
}

// knownEvents are the work item events of Azure DevOps service hooks.
var knownEvents = []string{eventCreated, eventUpdated, eventCommented, "workitem.deleted", "workitem.restored"}

// KnownEvents lists the work item event names.
func (t *Tracker) KnownEvents() []string { return slices.Clone(knownEvents) }

func (t *Tracker) open(state string) bool {
	return slices.ContainsFunc(t.openStates, func(s string) bool { return strings.EqualFold(s, state) })
}

func (t *Tracker) created(ev *trackers.Event) {
	tag := t.triggerTagOf(ev.Ticket.Labels)
	switch {
	case tag == "":
		ev.Ignore = "work item created without a trigger tag"
	case !t.open(ev.Ticket.State):
		ev.Ignore = fmt.Sprintf("work item is %s", ev.Ticket.State)
	default:
		ev.Trigger = fmt.Sprintf("work item created with tag %s", tag)
	}
}

// updated decides whether an update starts work: a trigger tag was added
// to an open work item, or the work item moved into an open state while
// carrying a trigger tag — back from a closed state (reopened), or for the
// first time (it carries no lifecycle tag yet, so agent-smith never took
// it; the project's trigger_statuses decide whether this state counts).
// A move to a closed state, or its last trigger tag taken off, withdraws
// the work item.
func (t *Tracker) updated(ev *trackers.Event, changed fields) {
	tk := ev.Ticket
	var added, removed []string
	if raw, ok := changed[fieldTags]; ok {
		var c change
		if err := json.Unmarshal(raw, &c); err == nil {
			before, after := splitTags(rawString(c.OldValue)), splitTags(rawString(c.NewValue))
			added, removed = tagsMissing(before, after), tagsMissing(after, before)
		}
	}
	if tag := t.triggerTagOf(added); tag != "" {
		if !t.open(tk.State) {
			ev.Ignore = fmt.Sprintf("tag %s added to a work item that is %s", tag, tk.State)
			return
		}
		ev.Trigger = fmt.Sprintf("tag %s added", tag)
		return
	}
	if raw, ok := changed[fieldState]; ok {
		var c change
		if err := json.Unmarshal(raw, &c); err == nil {
			from, to := rawString(c.OldValue), rawString(c.NewValue)
			switch {
			case t.open(to):
				t.stateMoved(ev, from, to)
				return
			case closedState(to):
				ev.Withdrawn = trackers.Closed("state " + to)
				return
			}
		}
	}
	if w, why := trackers.Unlabeled("tag", removed, tk.Labels, t.isTrigger); w != nil || len(added) == 0 && len(removed) > 0 {
		ev.Withdrawn, ev.Ignore = w, why
		return
	}
	switch {
	case len(added) > 0:
		ev.Ignore = fmt.Sprintf("tag %q is not a trigger tag", added[0])
	default:
		ev.Ignore = "no trigger tag added and no move into an open state"
	}
}

// closedStates are the states of the Completed and Removed categories in
// Azure DevOps' stock processes (Agile, Scrum, CMMI, Basic): a work item
// moved to one was closed. Resolved is not among them: it waits for
// verification.
var closedStates = []string{"Closed", "Done", "Removed"}

func closedState(state string) bool {
	return slices.ContainsFunc(closedStates, func(s string) bool { return strings.EqualFold(s, state) })
}

func (t *Tracker) stateMoved(ev *trackers.Event, from, to string) {
	tag := t.triggerTagOf(ev.Ticket.Labels)
	moved := fmt.Sprintf("state moved from %s to %s", from, to)
	switch {
	case tag == "":
		ev.Ignore = moved + " without a trigger tag"
	case from != "" && !t.open(from):
		ev.Trigger = moved + " (reopened) with tag " + tag
	case trackers.HasLifecycle(ev.Ticket.Labels):
		ev.Ignore = moved + "; agent-smith took this work item before (it has a lifecycle tag)"
	default:
		ev.Trigger = moved + " with tag " + tag
	}
}

// commented reads the new comment: System.History holds its HTML (the
// documented payload); a subscription that sends fewer resource details
// leaves it only in the detailed message, after the headline and the link
// line. Comments come only from project members, so they are trusted;
// agent-smith's own (its account's, with its mark) are ignored, and until
// the tracker knows its account every comment is.
func (t *Tracker) commented(ev *trackers.Event, env *envelope, r *resource) {
	var text string
	if h := r.Fields.str(fieldHistory); h != "" {
		text = htmlToText(h)
	} else {
		text = detailedComment(env.DetailedMessage.Text)
	}
	author := r.Fields.person(fieldChangedBy)
	self, known := t.self.Cached()
	c := &trackers.Comment{
		Author:  author.name(),
		Body:    unmarkOwn(text),
		Trusted: true,
		Own:     known && ownedBy(self, author, text),
	}
	if r.CommentVersionRef != nil && r.CommentVersionRef.CommentID > 0 {
		c.ID = strconv.Itoa(r.CommentVersionRef.CommentID)
	}
	if ts, err := time.Parse(time.RFC3339, r.Fields.str(fieldChangedDate)); err == nil {
		c.CreatedAt = ts
	}
	ev.Comment = c
	switch {
	case c.Own:
		ev.Ignore = "comment by agent-smith itself"
	case !known:
		ev.Ignore = fmt.Sprintf("which Azure DevOps account agent-smith is on tracker %s is still being learned, so whether %s's comment is its own is not known yet; comment again in a minute", t.name, c.Author)
	}
}

// detailedComment is the comment in a workitem.commented detailed
// message: "Bug #5 (…) commented on by …\r\n(https://…)\r\n{comment}".
func detailedComment(msg string) string {
	lines := strings.Split(strings.ReplaceAll(msg, "\r\n", "\n"), "\n")
	for i, l := range lines {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "(http") && strings.HasSuffix(l, ")") {
			return strings.TrimSpace(strings.Join(lines[i+1:], "\n"))
		}
	}
	return ""
}

// tagsMissing are the tags of b that a lacks.
func tagsMissing(a, b []string) []string {
	var out []string
	for _, tag := range b {
		if !hasTag(a, tag) {
			out = append(out, tag)
		}
	}
	return out
}

// rawString is a JSON string's value; "" for anything else.
func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}
