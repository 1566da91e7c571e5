package github_test

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/github"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
	"github.com/agent-smith/agent-smith/trackers/trackertest"
)

const (
	issuesRepo = "acme/shop"
	codeRepo   = "acme/shop-api"
	token      = "ghp_contract-test-token"
)

func TestGitHubPassesTheTrackerContract(t *testing.T) {
	trackertest.Run(t, func(t *testing.T) trackertest.Harness {
		fake := githubfake.New(githubfake.WithToken(token), githubfake.WithMaxPerPage(3))
		t.Cleanup(fake.Close)
		fake.AddRepo(issuesRepo, "main")
		fake.AddRepo(codeRepo, "main")
		return &harness{fake: fake}
	})
}

// harness plays the contract kit's Harness against githubfake.
type harness struct{ fake *githubfake.Server }

func (h *harness) config() *config.Config {
	return &config.Config{Secrets: map[string]string{"github_token": token}}
}

func (h *harness) Tracker(t *testing.T, s trackertest.Setup) trackers.Tracker {
	tc := &config.Tracker{Type: github.Type, URL: h.fake.APIURL(), Project: issuesRepo, Auth: "github_token",
		WebhookSecret: s.WebhookSecret, TriggerLabels: s.TriggerLabels, OpenStates: []string{"open"}}
	tr, err := github.New("shop", tc, h.config(), github.WithHTTPClient(h.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (h *harness) CreateTicket(t *testing.T, nt trackertest.NewTicket) string {
	state := "open"
	if nt.Closed {
		state = "closed"
	}
	n := h.fake.CreateIssue(issuesRepo, githubfake.NewIssue{Title: nt.Title, Body: nt.Body, Labels: nt.Labels, State: state})
	return strconv.Itoa(n)
}

func (h *harness) number(t *testing.T, id string) int {
	n, err := strconv.Atoi(id)
	if err != nil {
		t.Fatalf("ticket id %q: %v", id, err)
	}
	return n
}

func (h *harness) ReadTicket(t *testing.T, id string) trackers.Ticket {
	is, ok := h.fake.Issue(issuesRepo, h.number(t, id))
	if !ok {
		t.Fatalf("no issue %s", id)
	}
	tk := trackers.Ticket{ID: id, Title: is.Title, Body: is.Body, State: is.State, Labels: is.Labels}
	for _, c := range is.Comments {
		tk.Comments = append(tk.Comments, trackers.Comment{ID: strconv.FormatInt(c.ID, 10), Body: c.Body, Author: c.Author})
	}
	return tk
}

func (h *harness) Delivery(t *testing.T, d trackertest.Delivery) (http.Header, []byte) {
	n := h.number(t, d.TicketID)
	var del githubfake.Delivery
	switch d.Kind {
	case trackertest.DeliveryTriggered:
		del = h.fake.IssuesEvent(issuesRepo, n, "labeled", d.Label, githubfake.User{Login: "alice"})
	case trackertest.DeliveryNotWork:
		h.fake.EditBody(issuesRepo, n, "edited")
		del = h.fake.IssuesEvent(issuesRepo, n, "edited", "", githubfake.User{Login: "alice"})
	case trackertest.DeliveryClosed:
		h.fake.CloseIssue(issuesRepo, n)
		del = h.fake.IssuesEvent(issuesRepo, n, "closed", "", githubfake.User{Login: "alice"})
	case trackertest.DeliveryUnlabeled:
		h.fake.RemoveLabel(issuesRepo, n, d.Label)
		del = h.fake.IssuesEvent(issuesRepo, n, "unlabeled", d.Label, githubfake.User{Login: "alice"})
	case trackertest.DeliveryComment:
		assoc := githubfake.AssociationNone
		if d.Trusted {
			assoc = githubfake.AssociationMember
		}
		cid := h.fake.AddComment(issuesRepo, n, d.Comment, githubfake.User{Login: "bob"}, assoc)
		del = h.fake.IssueCommentEvent(issuesRepo, cid, "created")
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
	n := h.number(t, id)
	h.fake.OnNextLabelWrite(issuesRepo, n, func() {
		h.fake.AddLabels(issuesRepo, n, label)
		fired.Store(true)
	})
	return fired.Load
}

func (h *harness) PageSize() int { return 3 }

func (h *harness) DoneCases() []trackertest.DoneCase {
	return []trackertest.DoneCase{
		{DoneStatus: "closed", WantState: "closed"},
		{DoneStatus: "In Review", WantLabel: "In Review"},
	}
}

func (h *harness) RepoHost(t *testing.T) trackers.RepoHost {
	r := &config.Repo{Type: config.RepoGitHub, URL: h.fake.URL + "/" + codeRepo, Auth: "github_token", APIURL: h.fake.APIURL()}
	rh, err := github.NewRepoHost("shop-api", r, h.config(), github.WithHTTPClient(h.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return rh
}

func (h *harness) DefaultBranch() string { return "main" }

func (h *harness) CreateBranch(t *testing.T, name string) { h.fake.CreateBranch(codeRepo, name) }

func (h *harness) PullRequest(t *testing.T, number int) trackertest.PullRequestState {
	pr, ok := h.fake.PullRequest(codeRepo, number)
	if !ok {
		t.Fatalf("no pull request %d", number)
	}
	return trackertest.PullRequestState{Head: pr.Head, Base: pr.Base, Title: pr.Title, Body: pr.Body, Draft: pr.Draft, Open: pr.State == "open"}
}
