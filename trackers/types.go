package trackers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Ticket is a tracker item normalized across trackers.
type Ticket struct {
	// ID is the tracker's own reference: the issue number on GitHub, the
	// issue iid on GitLab, the work item id on Azure DevOps, the issue key
	// on Jira.
	ID    string
	Title string
	Body  string
	URL   string
	// State is the tracker's state name (open, Active, In Progress, …).
	State  string
	Labels []string
	// AreaPath is the Azure DevOps area path; empty elsewhere.
	AreaPath string
	// Repo is the clone URL of the repository the ticket belongs to, where
	// tickets live in repositories (GitHub, GitLab).
	Repo     string
	Assignee string
	Comments []Comment
}

// Comment is a ticket comment.
type Comment struct {
	ID     string
	Author string
	Body   string
	// Trusted is set when the author may instruct agent-smith: on GitHub
	// the author association is OWNER, MEMBER or COLLABORATOR; trackers
	// whose webhooks only carry authenticated members say how they decide.
	// It says nothing about who wrote the comment: work starts only from
	// a comment that is Trusted and not Own.
	Trusted bool
	// Own is set when agent-smith wrote the comment, decided by its author
	// being the account the tracker acts as (see Identity.Owns), never by
	// the text alone: a comment by anyone else is never Own, whatever
	// marker it carries.
	Own       bool
	CreatedAt time.Time
}

// EventKind says what a webhook delivery is about.
type EventKind string

// The kinds of Event.
const (
	// EventTicket: a ticket was created or changed (labeled, assigned,
	// moved to another state).
	EventTicket EventKind = "ticket"
	// EventComment: a comment was added to a ticket.
	EventComment EventKind = "comment"
	// EventPing: the tracker checks the endpoint (GitHub ping, test hooks).
	EventPing EventKind = "ping"
)

// Event is a verified webhook delivery, normalized.
type Event struct {
	// DeliveryID is the sender's delivery id, the same on a redelivery
	// (X-GitHub-Delivery, GitLab Idempotency-Key, Azure DevOps notification
	// id, X-Atlassian-Webhook-Identifier). Empty when the sender has none.
	DeliveryID string
	Kind       EventKind
	// Name is the tracker's own event name for logs and metrics
	// (issues.labeled, Issue Hook.update, workitem.updated, …).
	Name   string
	Ticket Ticket
	// Trigger is what in this event may start work, for the reply and the
	// logs: "label agent-smith added", "assigned to Agent Smith", "state
	// moved to Active". Empty on a ticket event means nothing triggering
	// changed.
	Trigger string
	// Comment is the new comment of an EventComment.
	Comment *Comment
	// Ignore, when set, is why the event was understood but is not work
	// ("action closed", "pull requests are not tickets").
	Ignore string
	// Mark places the event in its ticket's history, so a trigger that
	// was already acted on is recognised when it comes again (a replay, a
	// redelivery after the dedup window).
	Mark Mark
	// Withdrawn, on a ticket event, says the ticket stopped asking for
	// work: it was closed, or its last trigger label came off. Its
	// unfinished run is cancelled where its project's trigger says so
	// (cancel_when). Lifecycle labels are never trigger labels, so
	// agent-smith's own label edits never withdraw a ticket.
	Withdrawn *Withdrawal
}

// WithdrawKind is how a ticket stopped asking for work.
type WithdrawKind string

// The kinds of Withdrawal, named like the cancel_when keys.
const (
	// WithdrawClosed: the ticket was closed (GitHub, GitLab), moved to a
	// closed state (Azure DevOps) or to a status of category done (Jira).
	WithdrawClosed WithdrawKind = "closed"
	// WithdrawUnlabeled: the ticket lost its last trigger label (tag).
	WithdrawUnlabeled WithdrawKind = "unlabeled"
)

// Withdrawal is a ticket closed or unlabeled.
type Withdrawal struct {
	Kind WithdrawKind
	// Reason is what happened, for the run's cancel reason and the reply:
	// "ticket closed", "label agent-smith removed".
	Reason string
}

// Mark is a trigger's place in its ticket's history, from the tracker's
// own clock or counter: Seq grows with every change of the ticket (GitHub
// and GitLab: updated_at or the comment's created_at in milliseconds;
// Jira: the event's timestamp; Azure DevOps: the work item's revision),
// and Key names the trigger ("label:agent-smith", "comment:1241",
// "rev:7"), telling apart two triggers of the same Seq. The zero Mark
// (polling, a tracker without either) leaves the decision to the
// ticket's ContentDigest.
type Mark struct {
	Key string
	Seq int64
}

// MarkAt is the Mark of key at time t (milliseconds; 0 for the zero time).
func MarkAt(key string, t time.Time) Mark {
	if t.IsZero() {
		return Mark{Key: key}
	}
	return Mark{Key: key, Seq: t.UnixMilli()}
}

// ContentDigest is the hex SHA-256 of what a person changes on a ticket to
// ask for work again: its title, body, state and labels (sorted, without
// the lifecycle labels agent-smith itself writes). Comments are not part
// of it. It reads only fields both a webhook payload and a poll fill, so
// a ticket digests alike whichever way it came.
func ContentDigest(t Ticket) string {
	labels := slices.DeleteFunc(slices.Clone(t.Labels), IsLifecycleLabel)
	slices.Sort(labels)
	h := sha256.New()
	// Length-prefixed, so no two tickets share an encoding.
	for _, part := range append([]string{t.Title, t.Body, strings.ToLower(t.State)}, labels...) {
		fmt.Fprintf(h, "%d:%s;", len(part), part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Lifecycle is agent-smith's state of a ticket, kept on the ticket as a
// label (tag on Azure DevOps) agent-smith:{lifecycle}.
type Lifecycle string

// The lifecycle labels.
const (
	LifecycleQueued        Lifecycle = "queued"
	LifecycleInProgress    Lifecycle = "in-progress"
	LifecycleAwaitingInput Lifecycle = "awaiting-input"
	LifecycleDone          Lifecycle = "done"
	LifecycleFailed        Lifecycle = "failed"
	// LifecycleCancelled: the run was called off (by a user, or because
	// nobody answered its questions in time).
	LifecycleCancelled Lifecycle = "cancelled"
)

// LifecyclePrefix starts every lifecycle label.
const LifecyclePrefix = "agent-smith:"

// Lifecycles lists every lifecycle, in order.
var Lifecycles = []Lifecycle{LifecycleQueued, LifecycleInProgress, LifecycleAwaitingInput, LifecycleDone, LifecycleFailed, LifecycleCancelled}

// Label is the ticket label of the lifecycle.
func (l Lifecycle) Label() string { return LifecyclePrefix + string(l) }

// IsLifecycleLabel reports whether label is one of the lifecycle labels
// (other agent-smith:* labels are the user's and are kept).
func IsLifecycleLabel(label string) bool {
	for _, l := range Lifecycles {
		if strings.EqualFold(label, l.Label()) {
			return true
		}
	}
	return false
}

// WithLifecycle returns labels with every lifecycle label replaced by l's,
// keeping the other labels in their order.
func WithLifecycle(labels []string, l Lifecycle) []string {
	out := slices.DeleteFunc(slices.Clone(labels), IsLifecycleLabel)
	return append(out, l.Label())
}

// HasLifecycle reports whether labels carry any lifecycle label.
func HasLifecycle(labels []string) bool { return slices.ContainsFunc(labels, IsLifecycleLabel) }

// PullRequest is a pull request to open.
type PullRequest struct {
	Head  string
	Base  string
	Title string
	Body  string
	Draft bool
	// TicketID links the pull request to its ticket where the host has
	// links beyond the body text (Azure DevOps work item refs).
	TicketID string
	// TicketURL is the ticket's web URL. Hosts that close tickets from the
	// pull request body derive the reference from it (GitHub: "Fixes #N"
	// in the same repository, "Fixes owner/repo#N" across repositories).
	TicketURL string
}

// PullRequestRef is an opened (or found) pull request.
type PullRequestRef struct {
	Number int
	URL    string
	// Existing is set when the pull request was already open for the head
	// branch and was reused.
	Existing bool
}
