package azuredevops

import (
	"context"
	"strconv"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/azuredevops/adofake"
)

func TestNewRefusesIncompleteConfig(t *testing.T) {
	fake := adofake.New()
	t.Cleanup(fake.Close)
	cases := []struct {
		name   string
		mutate func(*config.Tracker, *config.Config)
		want   string
	}{
		{"no auth", func(tc *config.Tracker, _ *config.Config) { tc.Auth = "" }, "no auth"},
		{"auth names a missing secret", func(tc *config.Tracker, _ *config.Config) { tc.Auth = "missing" }, `auth "missing" names no secret`},
		{"auth names an empty secret", func(_ *config.Tracker, c *config.Config) { c.Secrets["azure_devops_token"] = "" }, "names no secret with a value"},
		{"no project", func(tc *config.Tracker, _ *config.Config) { tc.Project = "" }, "no project"},
		{"no url and no organization", func(tc *config.Tracker, _ *config.Config) { tc.URL, tc.Settings = "", &Settings{} }, "want the https organization"},
		{"url that is not http", func(tc *config.Tracker, _ *config.Config) { tc.URL = "ftp://dev.azure.com/acme" }, "want the https organization"},
		{"wrong tracker type", func(tc *config.Tracker, _ *config.Config) { tc.Type = "jira" }, "not azure_devops"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			trc, cfg := trackerConfig(fake), testConfig()
			tc.mutate(trc, cfg)
			_, err := New("platform", trc, cfg)
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
			g.Expect(err.Error()).NotTo(ContainSubstring(testPAT))
		})
	}
}

func TestTrackerURLDefaultsToTheOrganization(t *testing.T) {
	g := NewWithT(t)
	tc := &config.Tracker{Type: Type, Settings: &Settings{Organization: "acme org"}, Project: "Platform Team", Auth: "azure_devops_token"}
	tr, err := New("p", tc, testConfig())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tr.workItemURL(7)).To(Equal("https://dev.azure.com/acme%20org/Platform%20Team/_workitems/edit/7"))

	tc.URL = "https://tfs.acme.example/tfs/DefaultCollection/"
	tr, err = New("p", tc, testConfig())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tr.workItemURL(7)).To(Equal("https://tfs.acme.example/tfs/DefaultCollection/Platform%20Team/_workitems/edit/7"),
		"an Azure DevOps Server collection URL is used as it is")
}

func TestTicketReadsEveryCommentPageOldestFirst(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, adofake.WithCommentsPageSize(2))
	id := f.workItem("x", "Active", "agent-smith")
	var want []string
	for i := range 5 {
		body := "comment " + strconv.Itoa(i)
		f.fake.AddComment(id, "<p>"+body+"</p>", bob)
		want = append(want, body)
	}
	tk, err := f.tracker.Ticket(context.Background(), strconv.Itoa(id))
	g.Expect(err).NotTo(HaveOccurred())
	var got []string
	for _, c := range tk.Comments {
		got = append(got, c.Body)
		g.Expect(c.Author).To(Equal("Bob Example"))
		g.Expect(c.Trusted).To(BeTrue(), "comments come from project members")
		g.Expect(c.CreatedAt.IsZero()).To(BeFalse())
	}
	g.Expect(got).To(Equal(want))
}

func TestTicketOfAnotherProjectIsNotFound(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	other := f.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Billing", Title: "x"})
	_, err := f.tracker.Ticket(context.Background(), strconv.Itoa(other))
	g.Expect(err).To(MatchError(trackers.ErrNotFound))
	g.Expect(err).To(MatchError(ContainSubstring("belongs to project Billing, not Platform")))
}

func TestEditingACommentThatIsNotThereIsNotFound(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := strconv.Itoa(f.workItem("x", "Active"))
	for _, cid := range []string{"424242", "not-a-number", ""} {
		g.Expect(f.tracker.EditComment(context.Background(), id, cid, "x")).To(MatchError(trackers.ErrNotFound), cid)
	}
	_, err := f.tracker.Comment(context.Background(), "987654", "x")
	g.Expect(err).To(MatchError(trackers.ErrNotFound))
}
