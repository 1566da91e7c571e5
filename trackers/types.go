package trackers

import (
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
