package gitlab_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/gitlab"
	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
	"github.com/agent-smith/agent-smith/trackers/trackertest"
)

const (
	issuesProject = "acme/shop"
	// codeProject sits in a subgroup, so its path is URL-encoded with
	// two slashes in every request.
	codeProject = "acme/platform/shop-api"
	token       = "glpat-contract-test-token"
	botUser     = "agent-smith-bot"
)

func TestGitLabPassesTheTrackerContract(t *testing.T) {
	trackertest.Run(t, func(t *testing.T) trackertest.Harness {
		fake := gitlabfake.New(gitlabfake.WithBotToken(token, botUser), gitlabfake.WithMaxPerPage(3))
		t.Cleanup(fake.Close)
		for _, p := range []string{issuesProject, codeProject} {
			fake.AddProject(p, "main")
			fake.AddMember(p, botUser, gitlabfake.AccessMaintainer)
		}
		for user, level := range map[string]int{"dev": gitlabfake.AccessDeveloper, "guest": gitlabfake.AccessGuest, "alice": gitlabfake.AccessReporter} {
			fake.AddUser(user)
			fake.AddMember(issuesProject, user, level)
		}
		return &harness{fake: fake}
	})
}

// harness plays the contract kit's Harness against gitlabfake. A trusted
// comment is by a Developer, an untrusted one by a Guest.
type harness struct{ fake *gitlabfake.Server }

func (h *harness) config() *config.Config {
	return &config.Config{Secrets: map[string]string{"gitlab_token": token}}
}

func (h *harness) Tracker(t *testing.T, s trackertest.Setup) trackers.Tracker {
	tc := &config.Tracker{Type: gitlab.Type, URL: h.fake.URL, Project: issuesProject, Auth: "gitlab_token",
		WebhookSecret: s.WebhookSecret, TriggerLabels: s.TriggerLabels, OpenStates: []string{"open"}}
	tr, err := gitlab.New("shop", tc, h.config(), gitlab.WithHTTPClient(h.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	// As the wiring does once a tracker is built.
	if err := tr.RefreshMembers(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tr
}

func (h *harness) CreateTicket(t *testing.T, nt trackertest.NewTicket) string {
	state := "opened"
	if nt.Closed {
		state = "closed"
	}
	iid := h.fake.CreateIssue(issuesProject, gitlabfake.NewIssue{Title: nt.Title, Description: nt.Body, Labels: nt.Labels, State: state})
	return strconv.Itoa(iid)
}

func (h *harness) iid(t *testing.T, id string) int {
	n, err := strconv.Atoi(id)
	if err != nil {
		t.Fatalf("ticket id %q: %v", id, err)
	}
	return n
}

func (h *harness) ReadTicket(t *testing.T, id string) trackers.Ticket {
	is, ok := h.fake.Issue(issuesProject, h.iid(t, id))
	if !ok {
		t.Fatalf("no issue %s", id)
	}
	state := is.State
	if state == "opened" {
		state = "open"
	}
	tk := trackers.Ticket{ID: id, Title: is.Title, Body: is.Description, State: state, Labels: is.Labels}
	for _, n := range is.Notes {
		if !n.System {
			tk.Comments = append(tk.Comments, trackers.Comment{ID: strconv.FormatInt(n.ID, 10), Body: n.Body, Author: n.Author})
		}
	}
	return tk
}

func (h *harness) Delivery(t *testing.T, d trackertest.Delivery) (http.Header, []byte) {
	iid := h.iid(t, d.TicketID)
	var del gitlabfake.Delivery
	switch d.Kind {
	case trackertest.DeliveryTriggered:
		is, _ := h.fake.Issue(issuesProject, iid)
		var before []string
		for _, l := range is.Labels {
			if !strings.EqualFold(l, d.Label) {
				before = append(before, l)
			}
		}
		if before == nil {
			before = []string{}
		}
		del = h.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "update", LabelsBefore: before, By: "alice"})
	case trackertest.DeliveryNotWork:
		del = h.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "update", By: "alice"})
	case trackertest.DeliveryClosed:
		h.fake.CloseIssue(issuesProject, iid)
		del = h.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "close", By: "alice"})
	case trackertest.DeliveryUnlabeled:
		is, _ := h.fake.Issue(issuesProject, iid)
		h.fake.RemoveLabels(issuesProject, iid, d.Label)
		del = h.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "update", LabelsBefore: is.Labels, By: "alice"})
	case trackertest.DeliveryComment:
		author := "guest"
		if d.Trusted {
			author = "dev"
		}
		del = h.fake.NoteHook(issuesProject, h.fake.AddNote(issuesProject, iid, d.Comment, author), "create")
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
	iid := h.iid(t, id)
	h.fake.OnNextLabelWrite(issuesProject, iid, func() {
		h.fake.AddLabels(issuesProject, iid, label)
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
	r := &config.Repo{Type: config.RepoGitLab, URL: h.fake.URL + "/" + codeProject + ".git", Auth: "gitlab_token", APIURL: h.fake.URL}
	rh, err := gitlab.NewRepoHost("shop-api", r, h.config(), gitlab.WithHTTPClient(h.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return rh
}

func (h *harness) DefaultBranch() string { return "main" }

func (h *harness) CreateBranch(t *testing.T, name string) { h.fake.CreateBranch(codeProject, name) }

// PullRequest maps a merge request onto the kit's pull request: GitLab
// keeps "draft" as the title's Draft: prefix, so the kit's title is the
// title without it.
func (h *harness) PullRequest(t *testing.T, number int) trackertest.PullRequestState {
	mr, ok := h.fake.MergeRequest(codeProject, number)
	if !ok {
		t.Fatalf("no merge request !%d", number)
	}
	title := mr.Title
	if mr.Draft {
		title = strings.TrimSpace(strings.TrimPrefix(title, "Draft:"))
	}
	return trackertest.PullRequestState{Head: mr.Source, Base: mr.Target, Title: title, Body: mr.Description,
		Draft: mr.Draft, Open: mr.State == "opened"}
}
