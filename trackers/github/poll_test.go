package github

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

func itoa(n int) string { return strconv.Itoa(n) }

func TestIdlePollCostsNoRateLimit(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, githubfake.WithMaxPerPage(2))
	for range 5 {
		f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "bug", Labels: []string{"agent-smith"}})
	}
	ctx := context.Background()
	first, err := f.tracker.Candidates(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first).To(HaveLen(5))

	remaining := f.fake.RateRemaining()
	before := len(f.fake.Requests())
	again, err := f.tracker.Candidates(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(Equal(first))
	g.Expect(f.fake.RateRemaining()).To(Equal(remaining), "an idle poll spends no rate limit")
	idle := f.fake.Requests()[before:]
	g.Expect(idle).NotTo(BeEmpty())
	for _, r := range idle {
		g.Expect(r.Status).To(Equal(http.StatusNotModified), "%s %s", r.Method, r.Path)
	}

	n := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "new", Labels: []string{"ai-fix"}})
	changed, err := f.tracker.Candidates(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(ContainElement(HaveField("ID", itoa(n))), "a changed list is read again")
}

func TestCandidatesAreIssuesNotPullRequests(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	issue := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "issue", Body: "b", Labels: []string{"agent-smith", "bug"}, Assignee: "dev"})
	f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "pr", Labels: []string{"agent-smith"}, PullRequest: true})
	got, err := f.tracker.Candidates(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(ConsistOf(trackers.Ticket{
		ID: itoa(issue), Title: "issue", Body: "b", State: "open", Labels: []string{"agent-smith", "bug"}, Assignee: "dev",
		URL: f.fake.URL + "/acme/shop/issues/" + itoa(issue), Repo: f.fake.URL + "/acme/shop.git",
	}))
}

func TestTicketOfAPullRequestIsNotFound(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	pr := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "pr", PullRequest: true})
	_, err := f.tracker.Ticket(context.Background(), itoa(pr))
	g.Expect(err).To(MatchError(trackers.ErrNotFound))
}

func TestTicketCommentsAreTrustedByAuthorAssociation(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	n := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "x"})
	for _, a := range []string{"OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "NONE"} {
		f.fake.AddComment(shopRepo, n, a, githubfake.User{Login: "u-" + a}, a)
	}
	tk, err := f.tracker.Ticket(context.Background(), itoa(n))
	g.Expect(err).NotTo(HaveOccurred())
	trustedBodies := []string{}
	for _, c := range tk.Comments {
		if c.Trusted {
			trustedBodies = append(trustedBodies, c.Body)
		}
	}
	g.Expect(trustedBodies).To(ConsistOf("OWNER", "MEMBER", "COLLABORATOR"))
	g.Expect(tk.Comments).To(HaveLen(6))
}

func TestListStateCoversOpenStates(t *testing.T) {
	cases := []struct {
		states []string
		want   string
	}{
		{[]string{"open"}, "open"},
		{[]string{"Open"}, "open"},
		{[]string{"open", "closed"}, "all"},
		{[]string{"closed"}, "closed"},
		{[]string{"In Progress"}, ""},
	}
	for _, tc := range cases {
		if got := listState(tc.states); got != tc.want {
			t.Errorf("listState(%v) = %q, want %q", tc.states, got, tc.want)
		}
	}
}

// TestPolledAndDeliveredIssuesDigestAlike: the ticket a webhook delivery
// carries and the one a poll lists have the same ContentDigest, so a
// ticket worked after its webhook is not taken again by the poller while
// it is unchanged (its lifecycle label could not be written).
func TestPolledAndDeliveredIssuesDigestAlike(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	for _, in := range []githubfake.NewIssue{
		{Title: "Crash on save", Body: "Steps:\n1. save", Labels: []string{"bug", "agent-smith"}, Assignee: "dev"},
		{Title: "No body", Labels: []string{"agent-smith"}},
	} {
		n := f.fake.CreateIssue(shopRepo, in)
		d := f.fake.IssuesEvent(shopRepo, n, "labeled", "agent-smith", githubfake.User{Login: "alice"})
		ev, err := f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
		g.Expect(err).NotTo(HaveOccurred())
		polled, err := f.tracker.Candidates(context.Background())
		g.Expect(err).NotTo(HaveOccurred())
		i := slices.IndexFunc(polled, func(tk trackers.Ticket) bool { return tk.ID == ev.Ticket.ID })
		g.Expect(i).To(BeNumerically(">=", 0))
		g.Expect(trackers.ContentDigest(polled[i])).To(Equal(trackers.ContentDigest(ev.Ticket)), in.Title)
	}
}
