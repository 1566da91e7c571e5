package gitlab

import (
	"context"
	"net/http"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
)

func TestNewRefusesIncompleteConfig(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*config.Tracker, *config.Config)
		want   string
	}{
		{"no auth", func(tc *config.Tracker, _ *config.Config) { tc.Auth = "" }, "no auth"},
		{"auth names a missing secret", func(tc *config.Tracker, _ *config.Config) { tc.Auth = "missing" }, `auth "missing" names no secret`},
		{"auth names an empty secret", func(_ *config.Tracker, c *config.Config) { c.Secrets["gitlab_token"] = "" }, `auth "gitlab_token" names no secret with a value`},
		{"no project", func(tc *config.Tracker, _ *config.Config) { tc.Project = "" }, "no project"},
		{"url without scheme", func(tc *config.Tracker, _ *config.Config) { tc.URL = "gitlab.example.com" }, "want http(s)://host"},
		{"url with credentials", func(tc *config.Tracker, _ *config.Config) {
			tc.URL = "https://root:" + testToken + "@gitlab.example.com"
		}, "without credentials"},
		{"wrong tracker type", func(tc *config.Tracker, _ *config.Config) { tc.Type = "github" }, "not gitlab"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			trc := &config.Tracker{Type: Type, URL: "https://gitlab.example.com", Project: shopProject, Auth: "gitlab_token"}
			cfg := &config.Config{Secrets: map[string]string{"gitlab_token": testToken}}
			tc.mutate(trc, cfg)
			_, err := New("shop", trc, cfg)
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
			g.Expect(err.Error()).NotTo(ContainSubstring(testToken))
		})
	}
}

func TestInstanceURLBecomesTheAPIBase(t *testing.T) {
	cases := map[string]string{
		"":                                "https://gitlab.com/api/v4/",
		"https://gitlab.com":              "https://gitlab.com/api/v4/",
		"https://gitlab.acme.corp/":       "https://gitlab.acme.corp/api/v4/",
		"https://acme.corp/gitlab":        "https://acme.corp/gitlab/api/v4/",
		"https://acme.corp/gitlab/api/v4": "https://acme.corp/gitlab/api/v4/",
		"http://127.0.0.1:8080":           "http://127.0.0.1:8080/api/v4/",
	}
	cfg := &config.Config{Secrets: map[string]string{"gitlab_token": testToken}}
	for instance, want := range cases {
		tr, err := New("shop", &config.Tracker{Type: Type, URL: instance, Project: shopProject, Auth: "gitlab_token"}, cfg)
		if err != nil {
			t.Fatalf("New with url %q: %v", instance, err)
		}
		if got := tr.api.gl.BaseURL().String(); got != want {
			t.Errorf("url %q: API base %q, want %q", instance, got, want)
		}
	}
}

func TestAPIAuthMatrix(t *testing.T) {
	const guestToken, reporterToken = "glpat-guest", "glpat-reporter"
	f := newFixture(t, gitlabfake.WithToken(guestToken, "guest"), gitlabfake.WithToken(reporterToken, "alice"))
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	cases := []struct {
		name  string
		token string
		// want is "" for success, else what the error says.
		wantRead, wantClose string
	}{
		{"the bot's token", testToken, "", ""},
		{"a reporter may close issues", reporterToken, "", ""},
		{"a guest may read but not close", guestToken, "", `done_status "closed"`},
		{"a token GitLab does not know", "glpat-revoked", "401", "401"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			cfg := &config.Config{Secrets: map[string]string{"gitlab_token": tc.token}}
			tr, err := New("shop", trackerConfig(f.fake), cfg, WithHTTPClient(f.fake.Client()))
			g.Expect(err).NotTo(HaveOccurred())
			ctx := context.Background()
			check := func(err error, want string) {
				if want == "" {
					g.Expect(err).NotTo(HaveOccurred())
					return
				}
				g.Expect(err).To(MatchError(ContainSubstring(want)))
				g.Expect(err.Error()).NotTo(ContainSubstring(tc.token))
			}
			_, err = tr.Ticket(ctx, itoa(iid))
			check(err, tc.wantRead)
			err = tr.Complete(ctx, itoa(iid), "closed", "")
			check(err, tc.wantClose)
			if tc.name == "a guest may read but not close" {
				g.Expect(err).To(MatchError(ContainSubstring("403")))
			}
		})
	}
}

func TestCompleteFailsClearly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cases := []struct {
		name       string
		id         string
		doneStatus string
		want       error
		says       string
	}{
		{"issue that does not exist", "4242", "closed", trackers.ErrNotFound, "complete issue 4242"},
		{"label on an issue that does not exist", "4242", "In Review", trackers.ErrNotFound, "complete issue 4242"},
		{"id that is no iid", "PROJ-1", "closed", trackers.ErrNotFound, "not a GitLab issue iid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := f.tracker.Complete(ctx, tc.id, tc.doneStatus, "done")
			g.Expect(err).To(MatchError(tc.want))
			g.Expect(err).To(MatchError(ContainSubstring(tc.says)))
		})
	}
}

func TestCompleteClosesTheIssueAfterTheComment(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x", Labels: []string{"agent-smith", "bug"}})
	g.Expect(f.tracker.Complete(context.Background(), itoa(iid), "Closed", "Merge request: !3")).To(Succeed())
	is, _ := f.fake.Issue(shopProject, iid)
	g.Expect(is.State).To(Equal("closed"))
	g.Expect(is.Labels).To(ConsistOf("agent-smith", "bug"))
	g.Expect(is.Notes).To(HaveLen(2))
	g.Expect(is.Notes[0]).To(And(HaveField("Body", "Merge request: !3"), HaveField("System", false)))
	g.Expect(is.Notes[1]).To(And(HaveField("Body", "closed"), HaveField("System", true)))
}

func TestSetLifecycleIsOneRequestThatNamesOnlyLifecycleLabels(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x", Labels: []string{"bug", "agent-smith:queued"}})
	before := len(f.fake.Requests())
	g.Expect(f.tracker.SetLifecycle(context.Background(), itoa(iid), trackers.LifecycleInProgress)).To(Succeed())

	var issueRequests []gitlabfake.Request
	for _, r := range f.fake.Requests()[before:] {
		if strings.Contains(r.Path, "/issues/") {
			issueRequests = append(issueRequests, r)
		}
	}
	g.Expect(issueRequests).To(ConsistOf(HaveField("Method", http.MethodPut)), "no read first: add_labels/remove_labels need none")
	is, _ := f.fake.Issue(shopProject, iid)
	g.Expect(is.Labels).To(ConsistOf("bug", "agent-smith:in-progress"))
}

func TestLifecycleLabelsAreCreatedOnceWithColor(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	ctx := context.Background()
	a := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "a"})
	// agent-smith:failed exists already (GitLab answers 409 to creating it).
	b := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "b", Labels: []string{"agent-smith:failed"}})
	g.Expect(f.tracker.SetLifecycle(ctx, itoa(a), trackers.LifecycleQueued)).To(Succeed())
	g.Expect(f.tracker.SetLifecycle(ctx, itoa(b), trackers.LifecycleQueued)).To(Succeed())
	g.Expect(f.tracker.SetLifecycle(ctx, itoa(a), trackers.LifecycleFailed)).To(Succeed())
	g.Expect(f.tracker.SetLifecycle(ctx, itoa(b), trackers.LifecycleFailed)).To(Succeed())

	g.Expect(f.fake.Labels(shopProject)).To(HaveKeyWithValue("agent-smith:queued", "#c5def5"))
	var creates []int
	for _, r := range f.fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/labels") {
			creates = append(creates, r.Status)
		}
	}
	g.Expect(creates).To(Equal([]int{http.StatusCreated, http.StatusConflict}), "each label is created at most once per process")
	is, _ := f.fake.Issue(shopProject, b)
	g.Expect(is.Labels).To(ConsistOf("agent-smith:failed"))
}

func TestTicketReadsEveryNotePageWithoutSystemNotes(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, gitlabfake.WithMaxPerPage(2))
	ctx := context.Background()
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "Crash on save", Description: "It crashes.", Labels: []string{"agent-smith"}, Assignees: []string{"dev"}})
	f.fake.AddNote(shopProject, iid, "I see it too", "guest")
	g.Expect(f.tracker.SetLifecycle(ctx, itoa(iid), trackers.LifecycleQueued)).To(Succeed())
	f.fake.AddNote(shopProject, iid, "/agent-smith fix-bug", "dev")
	_, err := f.tracker.Comment(ctx, itoa(iid), "agent-smith is on it")
	g.Expect(err).NotTo(HaveOccurred())
	f.fake.AddNote(shopProject, iid, "/agent-smith fix-bug", "lead")

	tk, err := f.tracker.Ticket(ctx, itoa(iid))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tk.ID).To(Equal(itoa(iid)))
	g.Expect(tk.State).To(Equal("open"))
	g.Expect(tk.Assignee).To(Equal("dev"))
	g.Expect(tk.URL).To(Equal(f.fake.URL + "/acme/shop/-/issues/" + itoa(iid)))
	g.Expect(tk.Repo).To(Equal(f.fake.URL + "/acme/shop.git"))
	type note struct {
		Author, Body string
		Trusted, Own bool
	}
	var got []note
	for _, c := range tk.Comments {
		got = append(got, note{c.Author, c.Body, c.Trusted, c.Own})
		g.Expect(c.CreatedAt.IsZero()).To(BeFalse())
	}
	g.Expect(got).To(Equal([]note{
		{"guest", "I see it too", false, false},
		{"dev", "/agent-smith fix-bug", true, false},
		{bot, "agent-smith is on it", true, true},
		{"lead", "/agent-smith fix-bug", true, false},
	}), "oldest first, every page, no system note, agent-smith's own notes (its bot user's) Own")
}
