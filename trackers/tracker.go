package trackers

import (
	"context"
	"errors"
	"net/http"
)

// Tracker is a ticket system as the product uses it. Implementations are
// safe for concurrent use.
type Tracker interface {
	// Name is the tracker's key in agentsmith.yml; Type its config type.
	Name() string
	Type() string

	Webhooks
	Poller

	// Ticket reads a ticket with its labels, state and comments.
	Ticket(ctx context.Context, id string) (Ticket, error)
	// SetLifecycle replaces the ticket's agent-smith lifecycle label with l,
	// keeping every other label, with optimistic concurrency where the API
	// offers it (a concurrent label edit is retried, never overwritten).
	SetLifecycle(ctx context.Context, id string, l Lifecycle) error
	// Comment posts a new comment and returns its id.
	Comment(ctx context.Context, id, body string) (commentID string, err error)
	// EditComment replaces the body of a comment Comment returned; the run's
	// status comment is edited as the run progresses instead of adding one
	// comment per step.
	EditComment(ctx context.Context, id, commentID, body string) error
	// Complete moves the ticket to doneStatus (a state, a label or closing,
	// as the tracker understands it) and posts comment with it, in one
	// update where the API allows. An empty doneStatus only comments.
	Complete(ctx context.Context, id, doneStatus, comment string) error
}

// Webhooks turns a tracker's webhook deliveries into Events.
type Webhooks interface {
	// VerifyWebhook checks the delivery's signature or token against the
	// tracker's webhook_secret in constant time. It returns an error
	// wrapping ErrUnauthorized when the credential is missing or wrong and
	// ErrNoWebhookSecret when the tracker has no secret configured.
	VerifyWebhook(h http.Header, body []byte) error
	// ParseWebhook normalizes a verified delivery. A body that does not
	// parse is an error wrapping ErrBadPayload; an event that parses but is
	// not work is an Event with Ignore set.
	ParseWebhook(h http.Header, body []byte) (Event, error)
	// KnownEvents lists the Event.Name values the tracker's webhooks can
	// carry. The event name comes from the sender (an unsigned header on
	// GitHub), so metrics label only these; any other name counts as
	// "other".
	KnownEvents() []string
}

// Poller lists the tickets that may be work: open (open_states), carrying a
// trigger label, and without a lifecycle label (a ticket agent-smith has
// handled before is not picked up again by polling). Implementations page
// through every result and use conditional requests where the API has them.
type Poller interface {
	Candidates(ctx context.Context) ([]Ticket, error)
}

// RepoHost is where a repository's code lives and pull requests are opened.
type RepoHost interface {
	// DefaultBranch asks the host for the repository's default branch.
	DefaultBranch(ctx context.Context) (string, error)
	// CloneURL is the URL git clones and pushes; credentials are never part
	// of it (the sandbox supplies the token from its environment).
	CloneURL() string
	// OpenPullRequest opens a pull request from pr.Head into pr.Base, or
	// returns the open one that already exists for pr.Head (Existing set).
	OpenPullRequest(ctx context.Context, pr PullRequest) (PullRequestRef, error)
	// EditPullRequestBody replaces a pull request's description (used to
	// link sibling pull requests of a multi-repository run).
	EditPullRequestBody(ctx context.Context, number int, body string) error
}

// Errors implementations wrap so the webhook endpoint can answer with the
// right status code.
var (
	ErrUnauthorized    = errors.New("webhook credential missing or wrong")
	ErrNoWebhookSecret = errors.New("tracker has no webhook_secret configured, webhooks are refused")
	ErrBadPayload      = errors.New("webhook body does not parse")
	ErrNotFound        = errors.New("not found")
)

// ErrNoHost is what a RepoHost constructor returns for a plain git
// repository: it has no host API, so its branch is pushed and no pull
// request opens.
var ErrNoHost = errors.New("plain git repository: no pull requests, the branch is pushed only")
