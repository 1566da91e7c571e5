package azuredevops

import (
	"context"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
)

func TestParseRepoURL(t *testing.T) {
	cases := []struct {
		url  string
		want repoLocation
		bad  bool
	}{
		{url: "https://dev.azure.com/acme-org/Platform/_git/TodoList.Api", want: repoLocation{
			collection: "https://dev.azure.com/acme-org", project: "Platform", repo: "TodoList.Api",
			clone: "https://dev.azure.com/acme-org/Platform/_git/TodoList.Api"}},
		{url: "https://acme-org@dev.azure.com/acme-org/My%20Project/_git/My%20Repo", want: repoLocation{
			collection: "https://dev.azure.com/acme-org", project: "My Project", repo: "My Repo",
			clone: "https://dev.azure.com/acme-org/My%20Project/_git/My%20Repo"}},
		{url: "https://dev.azure.com/acme-org/_git/Platform", want: repoLocation{
			collection: "https://dev.azure.com/acme-org", project: "Platform", repo: "Platform",
			clone: "https://dev.azure.com/acme-org/_git/Platform"}},
		{url: "https://acme-org.visualstudio.com/Platform/_git/TodoList.Web", want: repoLocation{
			collection: "https://acme-org.visualstudio.com", project: "Platform", repo: "TodoList.Web",
			clone: "https://acme-org.visualstudio.com/Platform/_git/TodoList.Web"}},
		{url: "https://acme-org.visualstudio.com/DefaultCollection/Platform/_git/TodoList.Web", want: repoLocation{
			collection: "https://acme-org.visualstudio.com/DefaultCollection", project: "Platform", repo: "TodoList.Web",
			clone: "https://acme-org.visualstudio.com/DefaultCollection/Platform/_git/TodoList.Web"}},
		{url: "https://tfs.acme.example/tfs/DefaultCollection/Platform/_git/TodoList.Docs/", want: repoLocation{
			collection: "https://tfs.acme.example/tfs/DefaultCollection", project: "Platform", repo: "TodoList.Docs",
			clone: "https://tfs.acme.example/tfs/DefaultCollection/Platform/_git/TodoList.Docs/"}},
		{url: "git@ssh.dev.azure.com:v3/acme-org/Platform/TodoList.Api", bad: true},
		{url: "https://dev.azure.com/acme-org/Platform", bad: true},
		{url: "https://dev.azure.com/acme-org/Platform/_git/", bad: true},
		{url: "https://dev.azure.com/acme-org/Platform/_git/a/b", bad: true},
		{url: "https://tfs.acme.example/_git/Repo", bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			got, err := parseRepoURL(tc.url)
			if tc.bad {
				if err == nil {
					t.Fatalf("parseRepoURL accepted %s as %+v", tc.url, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseRepoURL = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestPullRequestIsLinkedToItsWorkItem(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	h := f.repoHost(t)
	f.fake.CreateBranch(testProject, testRepo, "agent-smith/4711-due-dates")
	id := f.workItem("Due dates shift", "Active", "agent-smith")
	pr := trackers.PullRequest{Head: "agent-smith/4711-due-dates", Base: "main", Title: "Fix due dates", Body: "Keeps the offset.",
		TicketID: strconv.Itoa(id), TicketURL: f.tracker.workItemURL(id)}
	ref, err := h.OpenPullRequest(context.Background(), pr)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ref.URL).To(Equal(f.fake.OrgURL() + "/Platform/_git/TodoList.Api/pullrequest/" + strconv.Itoa(ref.Number)))
	held, ok := f.fake.PullRequest(testProject, testRepo, ref.Number)
	g.Expect(ok).To(BeTrue())
	g.Expect(held.WorkItems).To(Equal([]string{strconv.Itoa(id)}))
	g.Expect(held.Description).To(Equal("Keeps the offset."), "a linked work item needs no reference in the text")
	g.Expect(held.SourceRef).To(Equal("refs/heads/agent-smith/4711-due-dates"))
	g.Expect(held.Draft).To(BeFalse())
}

func TestPullRequestForATicketElsewhereCarriesItsURL(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	h := f.repoHost(t)
	f.fake.CreateBranch(testProject, testRepo, "agent-smith/PAY-12")
	ref, err := h.OpenPullRequest(context.Background(), trackers.PullRequest{Head: "agent-smith/PAY-12", Base: "main", Title: "Fix pay",
		Body: "Fixes the rounding.", TicketID: "PAY-12", TicketURL: "https://acme.atlassian.net/browse/PAY-12"})
	g.Expect(err).NotTo(HaveOccurred())
	held, _ := f.fake.PullRequest(testProject, testRepo, ref.Number)
	g.Expect(held.WorkItems).To(BeEmpty())
	g.Expect(held.Description).To(Equal("Fixes the rounding.\n\nTicket: https://acme.atlassian.net/browse/PAY-12"))
}

func TestWorkItemRef(t *testing.T) {
	base := "https://dev.azure.com/acme-org"
	cases := []struct {
		url, id string
		ok      bool
	}{
		{"https://dev.azure.com/acme-org/Platform/_workitems/edit/4711", "4711", true},
		{"https://dev.azure.com/ACME-ORG/Platform/_workitems/edit/4711", "4711", true},
		{"https://dev.azure.com/acme-org/My%20Project/_workitems/edit/4711", "4711", true},
		{"https://dev.azure.com/other-org/Platform/_workitems/edit/4711", "4711", false},
		{"https://dev.azure.com/acme-org/Platform/_workitems/edit/4711", "4712", false},
		{"https://github.com/acme/shop/issues/4711", "4711", false},
		{"", "4711", false},
		{"https://dev.azure.com/acme-org/Platform/_workitems/edit/PAY-1", "PAY-1", false},
	}
	for _, tc := range cases {
		if _, ok := workItemRef(tc.url, tc.id, base); ok != tc.ok {
			t.Errorf("workItemRef(%q, %q) = %v, want %v", tc.url, tc.id, ok, tc.ok)
		}
	}
}

func TestLongDescriptionIsCutToWhatAzureReposTakes(t *testing.T) {
	g := NewWithT(t)
	for _, long := range []string{strings.Repeat("x", 5000), strings.Repeat("🙂", 2500), strings.Repeat("a🙂", 1500)} {
		cut := fitDescription(long)
		g.Expect(utf16Len(cut)).To(BeNumerically("<=", maxDescription))
		g.Expect(cut).To(HaveSuffix(cutNote))
		g.Expect(strings.ToValidUTF8(cut, "?")).To(Equal(cut), "no rune is split")
	}
	g.Expect(fitDescription("short")).To(Equal("short"))
	exact := strings.Repeat("x", maxDescription)
	g.Expect(fitDescription(exact)).To(Equal(exact))

	f := newFixture(t)
	h := f.repoHost(t)
	f.fake.CreateBranch(testProject, testRepo, "agent-smith/long")
	ref, err := h.OpenPullRequest(context.Background(), trackers.PullRequest{Head: "agent-smith/long", Base: "main", Title: "t",
		Body: strings.Repeat("log line\n", 600)})
	g.Expect(err).NotTo(HaveOccurred(), "the fake refuses descriptions over 4000 characters, as Azure Repos does")
	g.Expect(h.EditPullRequestBody(context.Background(), ref.Number, strings.Repeat("y", 4100))).To(Succeed())
	held, _ := f.fake.PullRequest(testProject, testRepo, ref.Number)
	g.Expect(held.Description).To(HaveSuffix(cutNote))
}

func TestDefaultBranchComesFromAzureReposUnlessConfigured(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	f.fake.AddRepo(testProject, "Empty", "")
	h := f.repoHost(t)
	branch, err := h.DefaultBranch(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(branch).To(Equal("main"))

	r := repoConfig(f.fake)
	r.DefaultBranch = "develop"
	configured, err := NewRepoHost("api", r, testConfig(), WithHTTPClient(f.fake.Client()))
	g.Expect(err).NotTo(HaveOccurred())
	before := len(f.fake.Requests())
	g.Expect(configured.DefaultBranch(context.Background())).To(Equal("develop"))
	g.Expect(f.fake.Requests()).To(HaveLen(before))

	r = repoConfig(f.fake)
	r.URL = f.fake.OrgURL() + "/Platform/_git/Empty"
	empty, err := NewRepoHost("empty", r, testConfig(), WithHTTPClient(f.fake.Client()))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = empty.DefaultBranch(context.Background())
	g.Expect(err).To(MatchError(ContainSubstring("no default branch")))

	r.URL = f.fake.OrgURL() + "/Platform/_git/Missing"
	missing, err := NewRepoHost("missing", r, testConfig(), WithHTTPClient(f.fake.Client()))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = missing.DefaultBranch(context.Background())
	g.Expect(err).To(MatchError(trackers.ErrNotFound))
}

func TestPullRequestEditOfAMissingOneIsNotFound(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	g.Expect(f.repoHost(t).EditPullRequestBody(context.Background(), 999999, "x")).To(MatchError(trackers.ErrNotFound))
}

func TestNewRepoHostRefusesIncompleteConfig(t *testing.T) {
	cases := []struct {
		name string
		repo config.Repo
		want string
	}{
		{"wrong type", config.Repo{Type: config.RepoGitHub, URL: "https://github.com/a/b", Auth: "azure_devops_token"}, "not azure_devops"},
		{"url without _git", config.Repo{Type: config.RepoAzureDevOps, URL: "https://dev.azure.com/acme-org/Platform", Auth: "azure_devops_token"}, "want https://dev.azure.com/"},
		{"no auth", config.Repo{Type: config.RepoAzureDevOps, URL: "https://dev.azure.com/acme-org/Platform/_git/x"}, "no auth"},
		{"token in the url is not echoed", config.Repo{Type: config.RepoAzureDevOps, URL: "https://user:" + testPAT + "@dev.azure.com/acme-org/Platform", Auth: "azure_devops_token"}, "want https://dev.azure.com/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := NewRepoHost("r", &tc.repo, testConfig())
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
			g.Expect(err.Error()).NotTo(ContainSubstring(testPAT))
		})
	}
}
