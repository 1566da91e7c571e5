// Package trackertest is the contract-test kit every tracker implementation
// runs against its fake: a tracker package provides a Harness (a fresh fake
// plus a few ways to arrange and read its state) and calls Run, which checks
// the behaviour the rest of the product relies on — webhook verification and
// parsing, polling, lifecycle labels under concurrent edits, the status
// comment, completion and, for repository hosts, pull requests.
//
// A Harness is meant to take an hour to write: each method maps onto one or
// two calls of the tracker's fake. trackers/github/contract_test.go is a
// complete one:
//
//	func TestGitLabPassesTheTrackerContract(t *testing.T) {
//		trackertest.Run(t, func(t *testing.T) trackertest.Harness { return newHarness(t) })
//	}
//
// Test support: no production package may import it (depguard).
package trackertest

import (
	"net/http"
	"testing"

	"github.com/agent-smith/agent-smith/trackers"
)

// TriggerLabels are the trigger_labels the kit configures on every tracker
// it builds (Setup.TriggerLabels). Two of them, so that polling proves a
// ticket carrying both is listed once.
var TriggerLabels = []string{"agent-smith", "ai-fix"}

// Setup is how the kit wants a tracker configured.
type Setup struct {
	// WebhookSecret is the tracker's webhook_secret; "" configures none.
	WebhookSecret string
	// TriggerLabels are the tracker's trigger_labels.
	TriggerLabels []string
}

// NewTicket is a ticket the kit asks the fake to hold.
type NewTicket struct {
	Title  string
	Body   string
	Labels []string
	// Closed puts the ticket in a state outside the tracker's open_states.
	Closed bool
}

// DeliveryKind is what a webhook delivery reports.
type DeliveryKind int

// The deliveries every tracker can send.
const (
	// DeliveryTriggered: Delivery.Label, a trigger label, was just added to
	// the ticket (GitHub issues.labeled; for a tracker whose trigger is not
	// a label, its own triggering change, with the label on the ticket).
	DeliveryTriggered DeliveryKind = iota
	// DeliveryNotWork: a change that is not work, such as editing the
	// ticket's title.
	DeliveryNotWork
	// DeliveryComment: a comment Delivery.Comment on the ticket, by an
	// author who may (Delivery.Trusted) or may not instruct agent-smith:
	// an untrusted author, or agent-smith itself on a tracker whose
	// comments all come from trusted members (Azure DevOps).
	DeliveryComment
	// DeliveryClosed: the ticket was just closed (GitHub and GitLab:
	// closed; Azure DevOps: moved to Closed; Jira: to a status of
	// category done).
	DeliveryClosed
	// DeliveryUnlabeled: Delivery.Label was just taken off the ticket, by
	// a person (or, for a lifecycle label, by agent-smith's own edit).
	DeliveryUnlabeled
)

// Delivery describes a webhook delivery for the Harness to build.
type Delivery struct {
	Kind     DeliveryKind
	TicketID string
	// Label is the trigger label of a DeliveryTriggered, the label taken
	// off of a DeliveryUnlabeled.
	Label   string
	Comment string
	Trusted bool
	// Secret signs (or authenticates) the delivery the way the tracker
	// does; "" sends it without any credential.
	Secret string
	// Body, when set, replaces the delivery's body (still signed with
	// Secret): the kit uses it for bodies that do not parse.
	Body []byte
}

// DoneCase is a done_status the tracker understands and what the fake
// shows after Complete moved a ticket there.
type DoneCase struct {
	DoneStatus string
	// WantState is the ticket's state afterwards, as ReadTicket reports
	// it; "" when the state does not change.
	WantState string
	// WantLabel is a label the ticket carries afterwards; "" for none.
	WantLabel string
}

// PullRequestState is a pull request as the fake holds it.
type PullRequestState struct {
	Head, Base, Title, Body string
	Draft, Open             bool
}

// Harness gives the kit one fresh fake and the tracker under test. Methods
// fail the test on error. The kit calls the factory passed to Run once per
// check, so state never leaks between checks.
type Harness interface {
	// Tracker builds the tracker under test against the fake. The kit may
	// call it more than once (with and without a webhook secret); every
	// tracker sees the same fake.
	Tracker(t *testing.T, s Setup) trackers.Tracker
	// CreateTicket adds a ticket to the fake and returns its id.
	CreateTicket(t *testing.T, nt NewTicket) string
	// ReadTicket is the ticket as the fake holds it now (ID, Title, Body,
	// State, Labels and Comments with ID and Body are what the kit reads).
	ReadTicket(t *testing.T, id string) trackers.Ticket
	// Delivery builds the headers and body of a webhook delivery. Each call
	// gets a new delivery id; the kit reuses a returned delivery to play a
	// redelivery.
	Delivery(t *testing.T, d Delivery) (http.Header, []byte)
	// RaceLabelEdit arranges for another client to add label to ticket id
	// while the tracker's next label change on that ticket is in flight:
	// after the tracker's first request about the ticket and before its
	// label write is applied. The returned func reports whether the edit
	// happened, so a harness whose hook never fires cannot pass by luck.
	RaceLabelEdit(t *testing.T, id, label string) (fired func() bool)
	// PageSize is the largest page the fake serves when listing tickets;
	// the kit creates more tickets than two pages hold.
	PageSize() int
	// DoneCases lists the done statuses to check Complete with.
	DoneCases() []DoneCase
	// RepoHost builds the repository host under test against the fake,
	// or returns nil when the tracker type hosts no code (Jira).
	RepoHost(t *testing.T) trackers.RepoHost
	// DefaultBranch is the fake repository's default branch.
	DefaultBranch() string
	// CreateBranch adds a branch to the fake repository.
	CreateBranch(t *testing.T, name string)
	// PullRequest is pull request number as the fake holds it.
	PullRequest(t *testing.T, number int) PullRequestState
}
