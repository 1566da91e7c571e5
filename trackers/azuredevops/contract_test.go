package azuredevops

import (
	"context"
	"html"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/azuredevops/adofake"
	"github.com/agent-smith/agent-smith/trackers/trackertest"
)

func TestAzureDevOpsPassesTheTrackerContract(t *testing.T) {
	trackertest.Run(t, func(t *testing.T) trackertest.Harness {
		fake := adofake.New(adofake.WithOrganization(testOrg), adofake.WithToken(testPAT),
			adofake.WithMaxBatch(3), adofake.WithCommentsPageSize(2))
		t.Cleanup(fake.Close)
		fake.AddProject(testProject)
		fake.AddRepo(testProject, testRepo, "main")
		return &harness{fake: fake}
	})
}

// harness plays the contract kit's Harness against adofake. Ticket bodies
// are stored as HTML and comments read back through the package's own
// text conversion, as the fake holds them the way Azure DevOps does.
type harness struct{ fake *adofake.Server }

var (
	alice = adofake.Identity{DisplayName: "Alice Example", UniqueName: "alice@fabrikam.example", ID: "a11ce"}
	bob   = adofake.Identity{DisplayName: "Bob Example", UniqueName: "bob@fabrikam.example", ID: "b0b"}
)

func (h *harness) Tracker(t *testing.T, s trackertest.Setup) trackers.Tracker {
	tc := trackerConfig(h.fake)
	tc.WebhookSecret, tc.TriggerLabels = s.WebhookSecret, s.TriggerLabels
	tr, err := New("platform", tc, testConfig(), WithHTTPClient(h.fake.Client()), WithPageSize(h.PageSize()))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (h *harness) CreateTicket(t *testing.T, nt trackertest.NewTicket) string {
	state := "New"
	if nt.Closed {
		state = "Closed"
	}
	desc := ""
	if nt.Body != "" {
		desc = "<div>" + html.EscapeString(nt.Body) + "</div>"
	}
	id := h.fake.CreateWorkItem(adofake.NewWorkItem{Project: testProject, Title: nt.Title, Description: desc,
		State: state, Tags: nt.Labels, CreatedBy: alice})
	return strconv.Itoa(id)
}

func (h *harness) id(t *testing.T, id string) int {
	n, err := strconv.Atoi(id)
	if err != nil {
		t.Fatalf("ticket id %q: %v", id, err)
	}
	return n
}

func (h *harness) ReadTicket(t *testing.T, id string) trackers.Ticket {
	w, ok := h.fake.WorkItem(h.id(t, id))
	if !ok {
		t.Fatalf("no work item %s", id)
	}
	tk := trackers.Ticket{ID: id, Title: w.Title, Body: htmlToText(w.Description), State: w.State, Labels: w.Tags}
	for _, c := range w.Comments {
		if c.Deleted {
			continue
		}
		text := c.Text
		if c.Format != "markdown" {
			text = htmlToText(text)
		}
		tk.Comments = append(tk.Comments, trackers.Comment{ID: strconv.Itoa(c.ID), Body: unmarkOwn(text), Author: c.CreatedBy.DisplayName})
	}
	return tk
}

func (h *harness) Delivery(t *testing.T, d trackertest.Delivery) (http.Header, []byte) {
	n := h.id(t, d.TicketID)
	var del adofake.Delivery
	switch d.Kind {
	case trackertest.DeliveryTriggered:
		// The kit's ticket may carry the label already; take it off first
		// so the delivery reports it being added.
		h.fake.Update(n, alice, adofake.RemoveTags(d.Label))
		del = h.fake.Update(n, alice, adofake.AddTags(d.Label))
	case trackertest.DeliveryNotWork:
		w, _ := h.fake.WorkItem(n)
		del = h.fake.Update(n, alice, adofake.SetTitle(w.Title+" (edited)"))
	case trackertest.DeliveryClosed:
		del = h.fake.Update(n, alice, adofake.SetState("Closed"))
	case trackertest.DeliveryUnlabeled:
		del = h.fake.Update(n, alice, adofake.RemoveTags(d.Label))
	case trackertest.DeliveryComment:
		del = h.commentDelivery(t, n, d)
	default:
		t.Fatalf("unknown delivery kind %d", d.Kind)
	}
	if d.Body != nil {
		del = del.WithBody(d.Body)
	}
	return del.Header(d.Secret), del.Body
}

// commentDelivery is a person's comment when d.Trusted, else one
// agent-smith itself posted: the only comments on Azure DevOps that may
// not instruct it (see ownMark).
func (h *harness) commentDelivery(t *testing.T, n int, d trackertest.Delivery) adofake.Delivery {
	if d.Trusted {
		cid := h.fake.AddComment(n, "<div>"+html.EscapeString(d.Comment)+"</div>", bob)
		return h.fake.CommentedEvent(n, cid)
	}
	tr := h.Tracker(t, trackertest.Setup{TriggerLabels: trackertest.TriggerLabels})
	cid, err := tr.Comment(context.Background(), strconv.Itoa(n), d.Comment)
	if err != nil {
		t.Fatal(err)
	}
	return h.fake.CommentedEvent(n, h.id(t, cid))
}

func (h *harness) RaceLabelEdit(t *testing.T, id, label string) func() bool {
	var fired atomic.Bool
	n := h.id(t, id)
	h.fake.OnNextPatch(n, func() {
		h.fake.Update(n, bob, adofake.AddTags(label))
		fired.Store(true)
	})
	return fired.Load
}

func (h *harness) PageSize() int { return 3 }

func (h *harness) DoneCases() []trackertest.DoneCase {
	return []trackertest.DoneCase{
		{DoneStatus: "Resolved", WantState: "Resolved"},
		{DoneStatus: "Closed", WantState: "Closed"},
	}
}

func (h *harness) RepoHost(t *testing.T) trackers.RepoHost {
	rh, err := NewRepoHost(testRepo, repoConfig(h.fake), testConfig(), WithHTTPClient(h.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return rh
}

func (h *harness) DefaultBranch() string { return "main" }

func (h *harness) CreateBranch(t *testing.T, name string) {
	h.fake.CreateBranch(testProject, testRepo, name)
}

func (h *harness) PullRequest(t *testing.T, number int) trackertest.PullRequestState {
	pr, ok := h.fake.PullRequest(testProject, testRepo, number)
	if !ok {
		t.Fatalf("no pull request %d", number)
	}
	return trackertest.PullRequestState{
		Head: strings.TrimPrefix(pr.SourceRef, "refs/heads/"), Base: strings.TrimPrefix(pr.TargetRef, "refs/heads/"),
		Title: pr.Title, Body: pr.Description, Draft: pr.Draft, Open: pr.Status == "active",
	}
}
