package jira

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	gojson "github.com/goccy/go-json"

	"github.com/agent-smith/agent-smith/trackers"
)

// The webhook headers Jira sends.
const (
	headerSignature  = "X-Hub-Signature"
	headerIdentifier = "X-Atlassian-Webhook-Identifier"
)

// VerifyWebhook checks X-Hub-Signature, "sha256=" and the hex HMAC-SHA256
// of the body under the webhook secret, in constant time. Jira signs the
// deliveries of webhooks registered with a secret; an unsigned delivery is
// refused.
func (t *Tracker) VerifyWebhook(h http.Header, body []byte) error {
	if len(t.secret) == 0 {
		return fmt.Errorf("tracker %s: %w", t.name, trackers.ErrNoWebhookSecret)
	}
	sig := h.Get(headerSignature)
	if sig == "" {
		return fmt.Errorf("no %s header (was the Jira webhook registered with a secret?): %w", headerSignature, trackers.ErrUnauthorized)
	}
	method, digest, _ := strings.Cut(sig, "=")
	got, err := hex.DecodeString(digest)
	if !strings.EqualFold(method, "sha256") || err != nil {
		return fmt.Errorf("%s is not a sha256= signature: %w", headerSignature, trackers.ErrUnauthorized)
	}
	mac := hmac.New(sha256.New, t.secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%s does not match the body: %w", headerSignature, trackers.ErrUnauthorized)
	}
	return nil
}

// payload is the part of a Jira webhook body agent-smith reads. Decoding
// only these fields with goccy/go-json, rather than encoding/json, makes a
// Jira Cloud delivery (a whole issue with its custom fields) three to ten
// times cheaper to read on the request path (BenchmarkWebhook);
// FuzzPayloadDecodersAgree holds it to encoding/json.
type payload struct {
	// Timestamp is when the event happened, in milliseconds.
	Timestamp    int64      `json:"timestamp"`
	WebhookEvent string     `json:"webhookEvent"`
	EventType    string     `json:"issue_event_type_name"`
	Issue        *issueJSON `json:"issue"`
	Changelog    *struct {
		ID    looseString  `json:"id"`
		Items []changeItem `json:"items"`
	} `json:"changelog"`
	Comment *commentJSON `json:"comment"`
}

// changeItem is one changelog entry: from and to are ids (account ids for
// users), the strings what people see (labels space-separated).
type changeItem struct {
	Field      string      `json:"field"`
	FieldID    string      `json:"fieldId"`
	From       looseString `json:"from"`
	FromString looseString `json:"fromString"`
	To         looseString `json:"to"`
	ToString   looseString `json:"toString"`
}

// looseString takes a string, a number or null (Jira writes ids either
// way in changelogs).
type looseString string

func (s *looseString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = ""
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = looseString(v)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*s = looseString(n)
	default:
		return fmt.Errorf("changelog value is neither a string nor a number")
	}
	return nil
}

// ParseWebhook normalizes a verified delivery (see the package doc for
// which deliveries are work). Anything else parses to an Event with
// Ignore set; a body that is not a Jira webhook is ErrBadPayload.
func (t *Tracker) ParseWebhook(h http.Header, body []byte) (trackers.Event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return trackers.Event{}, fmt.Errorf("body is not a JSON object: %w", trackers.ErrBadPayload)
	}
	var p payload
	if err := gojson.Unmarshal(body, &p); err != nil {
		return trackers.Event{}, fmt.Errorf("%w: %w", trackers.ErrBadPayload, err)
	}
	if p.WebhookEvent == "" {
		return trackers.Event{}, fmt.Errorf("no webhookEvent in the body: %w", trackers.ErrBadPayload)
	}
	ev, err := t.normalize(&p)
	if err != nil {
		return trackers.Event{}, fmt.Errorf("%s delivery: %w: %w", p.WebhookEvent, trackers.ErrBadPayload, err)
	}
	ev.DeliveryID = h.Get(headerIdentifier)
	return ev, nil
}

// normalize turns a decoded payload into an Event; it is pure.
func (t *Tracker) normalize(p *payload) (trackers.Event, error) {
	ev := trackers.Event{Name: p.WebhookEvent, Kind: trackers.EventTicket}
	switch p.WebhookEvent {
	case "jira:issue_created", "jira:issue_updated", "comment_created":
	default:
		ev.Ignore = fmt.Sprintf("event %s is not handled", p.WebhookEvent)
		return ev, nil
	}
	if p.WebhookEvent == "comment_created" && p.Issue == nil {
		// Jira sends comment events of pages and other objects too; an
		// issue's comments are read from jira:issue_updated anyway.
		ev.Kind, ev.Ignore = trackers.EventComment, "comment_created without an issue: comments are read from jira:issue_updated"
		return ev, nil
	}
	if p.Issue == nil || !keyPattern.MatchString(p.Issue.Key) {
		return ev, fmt.Errorf("no issue key")
	}
	ev.Ticket = t.ticketOf(*p.Issue, nil, trackers.Identity{})
	if project := projectOf(p.Issue); !strings.EqualFold(project, t.project) {
		ev.Ignore = fmt.Sprintf("issue %s is in project %s, not %s", p.Issue.Key, project, t.project)
		return ev, nil
	}
	switch p.WebhookEvent {
	case "comment_created":
		ev, err := t.commentEvent(ev, p)
		if err == nil {
			ev.Ignore = "comment_created is not read: the same comment arrives as jira:issue_updated (issue_commented), " +
				"whose issue carries the labels projects are resolved by; keep the webhook's Issue updated event on"
		}
		return ev, err
	case "jira:issue_created":
		ev = t.created(ev, p.Issue)
		ev.Mark = trackers.Mark{Key: "created", Seq: p.Timestamp}
		return ev, nil
	}
	// An update can carry a comment and a changelog (a transition with a
	// comment); a trigger in the changelog is what starts work then.
	trigger, changed := t.changeTrigger(p)
	if trigger == "" {
		if ev.Withdrawn = t.withdrawn(p); ev.Withdrawn != nil {
			return ev, nil
		}
	}
	switch {
	case trigger == "" && p.Comment != nil:
		return t.commentEvent(ev, p)
	case trigger == "" && len(changed) == 0:
		ev.Ignore = "update without a changelog is not work"
	case trigger == "":
		ev.Ignore = fmt.Sprintf("change of %s is not work", strings.Join(changed, ", "))
	case !t.open(ev.Ticket.State):
		ev.Ignore = fmt.Sprintf("issue is %s", ev.Ticket.State)
	default:
		ev.Trigger = trigger
		ev.Mark = trackers.Mark{Key: "changelog:" + string(p.Changelog.ID), Seq: p.Timestamp}
	}
	return ev, nil
}

// projectOf is the issue's project key: its project field, else the key's
// prefix.
func projectOf(is *issueJSON) string {
	if is.Fields.Project != nil && is.Fields.Project.Key != "" {
		return is.Fields.Project.Key
	}
	project, _, _ := strings.Cut(is.Key, "-")
	return project
}

func (t *Tracker) created(ev trackers.Event, is *issueJSON) trackers.Event {
	label := t.triggerLabelOf(ev.Ticket.Labels)
	switch {
	case label == "" && !t.isAgent(is.Fields.Assignee):
		ev.Ignore = "issue created without a trigger label"
	case !t.open(ev.Ticket.State):
		ev.Ignore = fmt.Sprintf("issue is %s", ev.Ticket.State)
	case label != "":
		ev.Trigger = "issue created with label " + label
	default:
		ev.Trigger = "issue created assigned to " + who(is.Fields.Assignee)
	}
	return ev
}

// changeTrigger finds what in an update's changelog starts work: a trigger
// label added, or the assignee set to the agent user. changed lists the
// fields the update touched, for the reason when nothing triggers.
func (t *Tracker) changeTrigger(p *payload) (trigger string, changed []string) {
	if p.Changelog == nil {
		return "", nil
	}
	for _, it := range p.Changelog.Items {
		field := strings.ToLower(it.Field)
		changed = append(changed, field)
		switch {
		case field == "labels" || it.FieldID == "labels":
			before := strings.Fields(string(it.FromString))
			for _, l := range strings.Fields(string(it.ToString)) {
				if !slices.Contains(before, l) && t.isTrigger(l) {
					return fmt.Sprintf("label %s added", l), changed
				}
			}
		case field == "assignee" || it.FieldID == "assignee":
			if t.isAgentName(string(it.To)) || t.isAgentName(string(it.ToString)) {
				return "assigned to " + string(it.ToString), changed
			}
		}
	}
	return "", changed
}

// withdrawn reads an update's changelog for the issue leaving the work:
// its status moved to one of category done, or its last trigger label
// taken off (the changelog's toString lists the labels left). nil when
// neither happened.
func (t *Tracker) withdrawn(p *payload) *trackers.Withdrawal {
	if p.Changelog == nil {
		return nil
	}
	for _, it := range p.Changelog.Items {
		field := strings.ToLower(it.Field)
		switch {
		case (field == "status" || it.FieldID == "status") && p.Issue.Fields.Status.done():
			return trackers.Closed("status " + string(it.ToString))
		case field == "labels" || it.FieldID == "labels":
			after := strings.Fields(string(it.ToString))
			var removed []string
			for _, l := range strings.Fields(string(it.FromString)) {
				if !slices.Contains(after, l) {
					removed = append(removed, l)
				}
			}
			if w, _ := trackers.Unlabeled("label", removed, after, t.isTrigger); w != nil {
				return w
			}
		}
	}
	return nil
}

func (t *Tracker) commentEvent(ev trackers.Event, p *payload) (trackers.Event, error) {
	ev.Kind = trackers.EventComment
	if p.Comment == nil || p.Comment.ID == "" {
		return ev, fmt.Errorf("no comment")
	}
	self, known := t.self.Cached()
	c := commentOf(*p.Comment, self)
	ev.Comment = &c
	ev.Mark = trackers.Mark{Key: "comment:" + c.ID, Seq: p.Timestamp}
	switch {
	case p.EventType == "issue_comment_edited":
		ev.Ignore = "comment edited; only new comments are read"
	case p.EventType == "issue_comment_deleted":
		ev.Ignore = "comment deleted"
	case c.Own:
		ev.Ignore = fmt.Sprintf("comment by agent-smith itself (%s)", c.Author)
	case t.isAgent(p.Comment.Author):
		ev.Ignore = fmt.Sprintf("comment by the agent user %s", c.Author)
	case !known:
		ev.Ignore = fmt.Sprintf("which Jira account agent-smith is on tracker %s is still being learned, so whether %s's comment is its own is not known yet; comment again in a minute", t.name, c.Author)
	}
	return ev, nil
}

// knownEvents are the webhookEvent values of Jira's issue and comment
// webhooks.
var knownEvents = []string{"jira:issue_created", "jira:issue_updated", "jira:issue_deleted",
	"comment_created", "comment_updated", "comment_deleted"}

// KnownEvents lists the issue and comment webhookEvent names.
func (t *Tracker) KnownEvents() []string { return slices.Clone(knownEvents) }

func (t *Tracker) open(state string) bool {
	return state == "" || containsFold(t.openStates, state)
}

func (t *Tracker) isTrigger(label string) bool {
	return !trackers.IsLifecycleLabel(label) && containsFold(t.triggerLabels, label)
}

func (t *Tracker) triggerLabelOf(labels []string) string {
	for _, l := range labels {
		if t.isTrigger(l) {
			return l
		}
	}
	return ""
}

func (t *Tracker) isAgent(u *userJSON) bool {
	return u != nil && (t.isAgentName(u.AccountID) || t.isAgentName(u.DisplayName))
}

func (t *Tracker) isAgentName(name string) bool {
	return name != "" && containsFold(t.agentUsers, name)
}
