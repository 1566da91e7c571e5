package gitlab

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
)

func TestProjectFromURL(t *testing.T) {
	cases := []struct {
		url, instance, want string
	}{
		{"https://gitlab.com/acme/shop.git", "https://gitlab.com", "acme/shop"},
		{"https://gitlab.com/acme/shop", "https://gitlab.com", "acme/shop"},
		{"https://gitlab.com/acme/platform/shop-api.git/", "https://gitlab.com", "acme/platform/shop-api"},
		{"git@gitlab.acme.corp:acme/platform/shop-api.git", "https://gitlab.acme.corp", "acme/platform/shop-api"},
		{"https://acme.corp/gitlab/acme/shop.git", "https://acme.corp/gitlab", "acme/shop"},
		{"https://acme.corp/gitlab/acme/shop.git", "https://acme.corp/gitlab/api/v4", "acme/shop"},
		{"https://oauth2:glpat-x@gitlab.com/acme/shop.git", "https://gitlab.com", "acme/shop"},
	}
	for _, tc := range cases {
		got, err := projectFromURL(tc.url, tc.instance)
		if err != nil || got != tc.want {
			t.Errorf("projectFromURL(%q, %q) = %q, %v; want %q", tc.url, tc.instance, got, err, tc.want)
		}
	}
	for _, bad := range []string{"https://gitlab.com/shop", "https://gitlab.com/acme/shop/-/issues/3", "not a url", "https://oauth2:glpat-secret@gitlab.com/"} {
		_, err := projectFromURL(bad, "https://gitlab.com")
		if err == nil {
			t.Errorf("projectFromURL(%q) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), "glpat-secret") {
			t.Errorf("error %q reveals the token", err)
		}
	}
}

func TestNewRepoHostDerivesTheInstanceAndRefusesOtherTypes(t *testing.T) {
	g := NewWithT(t)
	cfg := &config.Config{Secrets: map[string]string{"gl": testToken}}
	h, err := NewRepoHost("api", &config.Repo{Type: config.RepoGitLab, URL: "https://gitlab.acme.corp/acme/platform/api.git", Auth: "gl"}, cfg)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(h.api.project).To(Equal("acme/platform/api"))
	g.Expect(h.api.gl.BaseURL().String()).To(Equal("https://gitlab.acme.corp/api/v4/"))

	_, err = NewRepoHost("api", &config.Repo{Type: config.RepoGitHub, URL: "https://github.com/acme/api", Auth: "gl"}, cfg)
	g.Expect(err).To(MatchError(ContainSubstring("not gitlab")))
	_, err = NewRepoHost("api", &config.Repo{Type: config.RepoGitLab, URL: "https://gitlab.acme.corp/acme/api.git"}, cfg)
	g.Expect(err).To(MatchError(ContainSubstring("no auth")))
}

func TestDefaultBranchIsConfiguredOrAsked(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	h := f.repoHost(t)
	before := len(f.fake.Requests())
	branch, err := h.DefaultBranch(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(branch).To(Equal("main"))
	g.Expect(f.fake.Requests()[before:]).To(ConsistOf(HaveField("Path", "/projects/acme%2Fplatform%2Fshop-api")))

	h.defaultBranch = "develop"
	before = len(f.fake.Requests())
	branch, err = h.DefaultBranch(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(branch).To(Equal("develop"))
	g.Expect(f.fake.Requests()[before:]).To(BeEmpty())
}

func TestOpenMergeRequestLinksTheTicket(t *testing.T) {
	f := newFixture(t)
	h := f.repoHost(t)
	web := f.fake.URL
	cases := []struct {
		name, ticketURL, body, want string
	}{
		{"issue of the same project", web + "/acme/platform/shop-api/-/issues/5", "Fix it.", "Fix it.\n\nCloses #5"},
		{"issue of another project", web + "/acme/shop/-/issues/7", "Fix it.", "Fix it.\n\nCloses acme/shop#7"},
		{"ticket on another tracker", "https://acme.atlassian.net/browse/SHOP-9", "Fix it.", "Fix it.\n\nTicket: https://acme.atlassian.net/browse/SHOP-9"},
		{"reference already in the body", web + "/acme/shop/-/issues/7", "Closes acme/shop#7 and more", "Closes acme/shop#7 and more"},
		{"no body", web + "/acme/shop/-/issues/7", "", "Closes acme/shop#7"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			branch := "agent-smith/" + itoa(i)
			f.fake.CreateBranch(apiProject, branch)
			ref, err := h.OpenPullRequest(context.Background(), trackers.PullRequest{Head: branch, Base: "main", Title: "Fix", Body: tc.body, TicketURL: tc.ticketURL})
			g.Expect(err).NotTo(HaveOccurred())
			mr, _ := f.fake.MergeRequest(apiProject, ref.Number)
			g.Expect(mr.Description).To(Equal(tc.want))
			g.Expect(ref.URL).To(Equal(web + "/acme/platform/shop-api/-/merge_requests/" + itoa(ref.Number)))
		})
	}
}

func TestOpenMergeRequestReusesOnlyTheOneForTheSameBranches(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	h := f.repoHost(t)
	ctx := context.Background()
	f.fake.CreateBranch(apiProject, "fix")
	f.fake.CreateBranch(apiProject, "release")
	first, err := h.OpenPullRequest(ctx, trackers.PullRequest{Head: "fix", Base: "main", Title: "Draft: Fix", Draft: true})
	g.Expect(err).NotTo(HaveOccurred())
	mr, _ := f.fake.MergeRequest(apiProject, first.Number)
	g.Expect(mr.Title).To(Equal("Draft: Fix"), "an explicit draft prefix is not doubled")
	g.Expect(mr.Draft).To(BeTrue())

	again, err := h.OpenPullRequest(ctx, trackers.PullRequest{Head: "fix", Base: "main", Title: "Fix"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(Equal(trackers.PullRequestRef{Number: first.Number, URL: first.URL, Existing: true}))

	other, err := h.OpenPullRequest(ctx, trackers.PullRequest{Head: "fix", Base: "release", Title: "Fix for release"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(other.Existing).To(BeFalse())
	g.Expect(other.Number).NotTo(Equal(first.Number))
	g.Expect(f.fake.MergeRequests(apiProject)).To(HaveLen(2))
}

func TestOpenMergeRequestReportsWhatGitLabRefused(t *testing.T) {
	f := newFixture(t)
	h := f.repoHost(t)
	cases := []struct {
		name string
		pr   trackers.PullRequest
		want string
	}{
		{"branch that was never pushed", trackers.PullRequest{Head: "agent-smith/missing", Base: "main", Title: "x"}, "does not exist"},
		{"same branch as source and target", trackers.PullRequest{Head: "main", Base: "main", Title: "x"}, "same project/branch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := h.OpenPullRequest(context.Background(), tc.pr)
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
			g.Expect(err.Error()).To(HavePrefix("repo shop-api: "))
			g.Expect(err.Error()).NotTo(ContainSubstring(testToken))
		})
	}
	NewWithT(t).Expect(f.fake.MergeRequests(apiProject)).To(BeEmpty())
}

func TestEditMergeRequestOfAnotherNumberIsNotFound(t *testing.T) {
	f := newFixture(t)
	err := f.repoHost(t).EditPullRequestBody(context.Background(), 77, "x")
	NewWithT(t).Expect(err).To(MatchError(trackers.ErrNotFound))
}
