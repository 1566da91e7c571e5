package github

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers"
)

func TestPullRequestBodyClosesTheTicket(t *testing.T) {
	const repoURL = "https://github.com/acme/shop-api"
	cases := []struct {
		name, body, ticketURL, want string
	}{
		{"issue of the same repository", "Fixes the crash.", "https://github.com/acme/shop-api/issues/42", "Fixes the crash.\n\nFixes #42"},
		{"issue of another repository", "Fixes the crash.", "https://github.com/acme/shop/issues/42", "Fixes the crash.\n\nFixes acme/shop#42"},
		{"reference already in the body", "fixes acme/shop#42 by …", "https://github.com/acme/shop/issues/42", "fixes acme/shop#42 by …"},
		{"ticket on another host", "Body", "https://acme.atlassian.net/browse/SHOP-7", "Body\n\nTicket: https://acme.atlassian.net/browse/SHOP-7"},
		{"GitLab-style path on another host", "", "https://gitlab.example/acme/shop/issues/3", "Ticket: https://gitlab.example/acme/shop/issues/3"},
		{"no ticket", "Body", "", "Body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := withTicketRef(tc.body, tc.ticketURL, repoURL); got != tc.want {
				t.Fatalf("withTicketRef = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOpenPullRequestLinksTicketAndReusesTheOpenOne(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := newFixture(t)
	h := f.repoHost(t)
	f.fake.CreateBranch(apiRepo, "agent-smith/7-crash")
	pr := trackers.PullRequest{Head: "agent-smith/7-crash", Base: "main", Title: "Fix crash", Body: "Plan…",
		TicketURL: f.fake.URL + "/acme/shop/issues/7"}
	first, err := h.OpenPullRequest(ctx, pr)
	g.Expect(err).NotTo(HaveOccurred())
	held, _ := f.fake.PullRequest(apiRepo, first.Number)
	g.Expect(held.Body).To(Equal("Plan…\n\nFixes acme/shop#7"))
	g.Expect(first.URL).To(Equal(f.fake.URL + "/acme/shop-api/pull/" + itoa(first.Number)))

	again, err := h.OpenPullRequest(ctx, pr)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(Equal(trackers.PullRequestRef{Number: first.Number, URL: first.URL, Existing: true}))
	g.Expect(f.fake.PullRequests(apiRepo)).To(HaveLen(1))
}

func TestDraftRefusedOpensReadyPullRequest(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	h := f.repoHost(t)
	f.fake.DisableDrafts(apiRepo)
	f.fake.CreateBranch(apiRepo, "b")
	ref, err := h.OpenPullRequest(context.Background(), trackers.PullRequest{Head: "b", Base: "main", Title: "t", Draft: true})
	g.Expect(err).NotTo(HaveOccurred())
	held, _ := f.fake.PullRequest(apiRepo, ref.Number)
	g.Expect(held.Draft).To(BeFalse())
}

func TestOpenPullRequestTargetsDefaultBranchWhenBaseIsEmpty(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	f.fake.CreateBranch(apiRepo, "fix")
	ref, err := f.repoHost(t).OpenPullRequest(context.Background(), trackers.PullRequest{Head: "fix", Title: "t"})
	g.Expect(err).NotTo(HaveOccurred())
	held, _ := f.fake.PullRequest(apiRepo, ref.Number)
	g.Expect(held.Base).To(Equal("main"))
}

func TestOpenPullRequestForMissingBranchFails(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	_, err := f.repoHost(t).OpenPullRequest(context.Background(), trackers.PullRequest{Head: "nope", Base: "main", Title: "t"})
	g.Expect(err).To(MatchError(ContainSubstring("422")))
}

func TestDefaultBranchPrefersConfiguredOne(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	h := f.repoHost(t)
	b, err := h.DefaultBranch(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(b).To(Equal("main"))
	h.defaultBranch = "develop"
	before := len(f.fake.Requests())
	b, err = h.DefaultBranch(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(b).To(Equal("develop"))
	g.Expect(f.fake.Requests()).To(HaveLen(before), "a configured default branch needs no request")
}

func TestRepoFromURL(t *testing.T) {
	cases := map[string]string{
		"https://github.com/acme/shop-api":            "acme/shop-api",
		"https://github.com/acme/shop-api.git":        "acme/shop-api",
		"https://x:tok@ghe.example/acme/shop-api/":    "acme/shop-api",
		"git@github.com:acme/shop-api.git":            "acme/shop-api",
		"https://ghe.example/acme/group/shop-api.git": "",
		"https://github.com/acme":                     "",
	}
	for in, want := range cases {
		got, err := repoFromURL(in)
		if want == "" {
			if err == nil {
				t.Errorf("repoFromURL(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("repoFromURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
