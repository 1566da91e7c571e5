package jira_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/jira"
	"github.com/agent-smith/agent-smith/trackers/jira/jirafake"
	"github.com/agent-smith/agent-smith/trackers/trackertest"
)

const (
	contractProject = "SHOP"
	contractEmail   = "agent-smith@acme.example"
	contractToken   = "jira-contract-api-token"
)

var (
	contractAgent = jirafake.User{AccountID: "557058:agent-smith", DisplayName: "Agent Smith"}
	contractAlice = jirafake.User{AccountID: "557058:alice", DisplayName: "Alice Developer"}
	contractCarl  = jirafake.User{AccountID: "qm:customer:carl", DisplayName: "Carl Customer", AccountType: "customer"}
)

func TestJiraPassesTheTrackerContract(t *testing.T) {
	trackertest.Run(t, func(t *testing.T) trackertest.Harness {
		fake := jirafake.New(jirafake.WithUser(contractEmail, contractToken, contractAgent), jirafake.WithMaxResults(3))
		t.Cleanup(fake.Close)
		fake.AddProject(contractProject, "Shop")
		return &harness{fake: fake}
	})
}

// harness plays the contract kit's Harness against jirafake.
type harness struct{ fake *jirafake.Server }

func (h *harness) Tracker(t *testing.T, s trackertest.Setup) trackers.Tracker {
	tc := &config.Tracker{Type: jira.Type, URL: h.fake.URL, Project: contractProject, Auth: "jira_token",
		WebhookSecret: s.WebhookSecret, TriggerLabels: s.TriggerLabels, OpenStates: []string{"To Do", "In Progress"},
		Settings: &jira.Settings{Email: contractEmail, AgentUser: "Agent Smith"}}
	cfg := &config.Config{Secrets: map[string]string{"jira_token": contractToken}}
	tr, err := jira.New("shop", tc, cfg, jira.WithHTTPClient(h.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (h *harness) CreateTicket(t *testing.T, nt trackertest.NewTicket) string {
	status := "To Do"
	if nt.Closed {
		status = "Done"
	}
	return h.fake.CreateIssue(contractProject, jirafake.NewIssue{Summary: nt.Title, Description: nt.Body, Labels: nt.Labels, Status: status})
}

func (h *harness) ReadTicket(t *testing.T, id string) trackers.Ticket {
	is, ok := h.fake.Issue(id)
	if !ok {
		t.Fatalf("no issue %s", id)
	}
	tk := trackers.Ticket{ID: is.Key, Title: is.Summary, Body: is.Description, State: is.Status, Labels: is.Labels, Assignee: is.Assignee}
	for _, c := range is.Comments {
		tk.Comments = append(tk.Comments, trackers.Comment{ID: c.ID, Body: c.Body, Author: c.Author.DisplayName})
	}
	return tk
}

func (h *harness) Delivery(t *testing.T, d trackertest.Delivery) (http.Header, []byte) {
	var del jirafake.Delivery
	switch d.Kind {
	case trackertest.DeliveryTriggered:
		del = h.fake.LabelAdded(d.TicketID, d.Label, contractAlice)
	case trackertest.DeliveryNotWork:
		is, _ := h.fake.Issue(d.TicketID)
		old := "draft title"
		del = h.fake.IssueUpdated(d.TicketID, contractAlice, jirafake.ChangeItem{Field: "summary", FieldType: "jira", FieldID: "summary",
			FromString: &old, ToString: &is.Summary})
	case trackertest.DeliveryClosed:
		is, _ := h.fake.Issue(d.TicketID)
		h.fake.SetStatus(d.TicketID, "Done")
		del = h.fake.StatusChanged(d.TicketID, is.Status, contractAlice)
	case trackertest.DeliveryUnlabeled:
		h.fake.RemoveLabels(d.TicketID, d.Label)
		del = h.fake.LabelRemoved(d.TicketID, d.Label, contractAlice)
	case trackertest.DeliveryComment:
		author := contractCarl
		if d.Trusted {
			author = contractAlice
		}
		del = h.fake.Commented(d.TicketID, h.fake.AddComment(d.TicketID, d.Comment, author))
	default:
		t.Fatalf("unknown delivery kind %d", d.Kind)
	}
	if d.Body != nil {
		del = del.WithBody(d.Body)
	}
	return del.Header(d.Secret), del.Body
}

func (h *harness) RaceLabelEdit(t *testing.T, id, label string) func() bool {
	var fired atomic.Bool
	h.fake.OnNextLabelWrite(id, func() {
		h.fake.AddLabels(id, label)
		fired.Store(true)
	})
	return fired.Load
}

func (h *harness) PageSize() int { return 3 }

func (h *harness) DoneCases() []trackertest.DoneCase {
	return []trackertest.DoneCase{
		{DoneStatus: "Done", WantState: "Done"},
		{DoneStatus: "in review", WantState: "In Review"},
	}
}

// Jira hosts no code: the kit skips the repository checks, so the methods
// below are never called.
func (h *harness) RepoHost(t *testing.T) trackers.RepoHost { return nil }

func (h *harness) DefaultBranch() string { return "" }

func (h *harness) CreateBranch(t *testing.T, name string) { t.Fatal("Jira hosts no code") }

func (h *harness) PullRequest(t *testing.T, number int) trackertest.PullRequestState {
	t.Fatal("Jira hosts no code")
	return trackertest.PullRequestState{}
}
