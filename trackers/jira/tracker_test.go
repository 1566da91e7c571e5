package jira

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/internal/retry/retrytest"
	"github.com/agent-smith/agent-smith/trackers/jira/jirafake"
)

func TestAPIAuthentication(t *testing.T) {
	const pat = "jira-dc-personal-access-token"
	fake := jirafake.New(jirafake.WithUser(testEmail, testToken, agentUser), jirafake.WithPersonalAccessToken(pat, bob))
	t.Cleanup(fake.Close)
	fake.AddProject(testProject, "Shop")
	key := fake.CreateIssue(testProject, jirafake.NewIssue{Summary: "auth"})
	cases := []struct {
		name, email, token string
		ok                 bool
	}{
		{"email and API token as basic auth", testEmail, testToken, true},
		{"personal access token as bearer", "", pat, true},
		{"wrong API token", testEmail, "guessed-token", false},
		{"API token of another account", "mallory@acme.example", testToken, false},
		{"API token sent as bearer", "", testToken, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			tc2 := trackerConfig(fake)
			tc2.Settings.(*Settings).Email = tc.email
			cfg := &config.Config{Secrets: map[string]string{"jira_token": tc.token}}
			tr, err := New("shop", tc2, cfg, WithHTTPClient(fake.Client()))
			g.Expect(err).NotTo(HaveOccurred())
			_, err = tr.Ticket(context.Background(), key)
			if tc.ok {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring("401 Unauthorized: Client must be authenticated")))
			g.Expect(err.Error()).NotTo(ContainSubstring(tc.token))
		})
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	fake := jirafake.New()
	t.Cleanup(fake.Close)
	cases := []struct {
		name   string
		mutate func(*config.Tracker, *config.Config)
		want   string
	}{
		{"wrong tracker type", func(tc *config.Tracker, _ *config.Config) { tc.Type = "github" }, "not jira"},
		{"no url", func(tc *config.Tracker, _ *config.Config) { tc.URL = "" }, "no url"},
		{"url that is not http", func(tc *config.Tracker, _ *config.Config) { tc.URL = "ftp://acme.atlassian.net" }, "is not an http(s) URL"},
		{"url with credentials", func(tc *config.Tracker, _ *config.Config) {
			tc.URL = "https://agent:" + testToken + "@acme.atlassian.net"
		}, "url carries credentials"},
		{"no project", func(tc *config.Tracker, _ *config.Config) { tc.Project = "" }, "no project"},
		{"no auth", func(tc *config.Tracker, _ *config.Config) { tc.Auth = "" }, "no auth"},
		{"auth names a missing secret", func(tc *config.Tracker, _ *config.Config) { tc.Auth = "missing" }, `auth "missing" names no secret`},
		{"auth names an empty secret", func(_ *config.Tracker, c *config.Config) { c.Secrets["jira_token"] = "" }, `auth "jira_token" names no secret`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			trc, cfg := trackerConfig(fake), testConfig()
			tc.mutate(trc, cfg)
			_, err := New("shop", trc, cfg)
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
			g.Expect(err.Error()).NotTo(ContainSubstring(testToken))
		})
	}
}

func TestTicketReadsEveryCommentPage(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, jirafake.WithMaxResults(3))
	key := f.issue("agent-smith")
	for i := range 7 {
		f.fake.AddComment(key, fmt.Sprintf("comment %d", i), alice)
	}
	tk, err := f.tracker.Ticket(context.Background(), key)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tk.Comments).To(HaveLen(7))
	for i, c := range tk.Comments {
		g.Expect(c.Body).To(Equal(fmt.Sprintf("comment %d", i)), "comments in the order they were written")
		g.Expect(c.Author).To(Equal("Alice Developer"))
		g.Expect(c.Trusted).To(BeTrue())
	}
	var pages []string
	for _, r := range f.fake.Requests() {
		if strings.HasSuffix(strings.SplitN(r.Path, "?", 2)[0], "/comment") {
			pages = append(pages, r.Path)
		}
	}
	g.Expect(pages).To(Equal([]string{
		"/rest/api/3/issue/" + key + "/comment?maxResults=100&orderBy=created&startAt=0",
		"/rest/api/3/issue/" + key + "/comment?maxResults=100&orderBy=created&startAt=3",
		"/rest/api/3/issue/" + key + "/comment?maxResults=100&orderBy=created&startAt=6",
	}))
}

func TestTicketRendersRichTextAndTrust(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	key := f.fake.CreateIssue(testProject, jirafake.NewIssue{Summary: "Crash", Description: "Steps:\n\n```\nmake test\n```"})
	f.fake.AddComment(key, "/agent-smith fix-bug", customer)
	tk, err := f.tracker.Ticket(context.Background(), key)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tk.Body).To(Equal("Steps:\n\n```\nmake test\n```"))
	g.Expect(tk.URL).To(Equal(f.fake.BrowseURL(key)))
	g.Expect(tk.Comments).To(ConsistOf(And(HaveField("Author", "Carl Customer"), HaveField("Trusted", false))))

	byID, err := f.tracker.Ticket(context.Background(), mustIssue(t, f.fake, key).ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(byID.ID).To(Equal(key), "an issue asked for by id answers with its key")
}

func TestCommentsAreWrittenInADF(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	key := f.issue("agent-smith")
	ctx := context.Background()
	cid, err := f.tracker.Comment(ctx, key, "Pull request: https://github.com/acme/shop/pull/7\nTests pass.")
	g.Expect(err).NotTo(HaveOccurred())
	is := mustIssue(t, f.fake, key)
	g.Expect(is.Comments).To(HaveLen(1))
	g.Expect(is.Comments[0].ID).To(Equal(cid))
	g.Expect(is.Comments[0].Author.DisplayName).To(Equal("Agent Smith"), "comments are written as the API user")
	g.Expect(string(is.Comments[0].ADF)).To(MatchJSON(`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[
		{"type":"text","text":"Pull request: "},
		{"type":"text","text":"https://github.com/acme/shop/pull/7","marks":[{"type":"link","attrs":{"href":"https://github.com/acme/shop/pull/7"}}]},
		{"type":"hardBreak"},{"type":"text","text":"Tests pass."}]}]}`))

	g.Expect(f.tracker.EditComment(ctx, key, cid, "running: tests")).To(Succeed())
	g.Expect(mustIssue(t, f.fake, key).Comments).To(ConsistOf(HaveField("Body", "running: tests")))
}

func TestMissingThingsAreNotFound(t *testing.T) {
	f := newFixture(t)
	key := f.issue("agent-smith")
	other := f.issue("agent-smith")
	cid := f.fake.AddComment(other, "elsewhere", alice)
	ctx := context.Background()
	cases := []struct {
		name string
		call func() error
	}{
		{"issue that does not exist", func() error { _, err := f.tracker.Ticket(ctx, "SHOP-999"); return err }},
		{"ticket id that is no issue key", func() error { _, err := f.tracker.Ticket(ctx, "../../serverInfo"); return err }},
		{"comment on a missing issue", func() error { _, err := f.tracker.Comment(ctx, "SHOP-999", "x"); return err }},
		{"comment id of another issue", func() error { return f.tracker.EditComment(ctx, key, cid, "x") }},
		{"comment id that is no id", func() error { return f.tracker.EditComment(ctx, key, "1/../2", "x") }},
		{"lifecycle of a missing issue", func() error { return f.tracker.SetLifecycle(ctx, "SHOP-999", trackers.LifecycleQueued) }},
		{"completion of a missing issue", func() error { return f.tracker.Complete(ctx, "SHOP-999", "Done", "x") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(tc.call()).To(MatchError(trackers.ErrNotFound))
		})
	}
	NewWithT(t).Expect(mustIssue(t, f.fake, other).Comments).To(ConsistOf(HaveField("Body", "elsewhere")))
}

func TestSetLifecycleIsOneEditOfLabelOperations(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	key := f.issue("bug", "agent-smith:queued")
	g.Expect(f.tracker.SetLifecycle(context.Background(), key, trackers.LifecycleInProgress)).To(Succeed())
	var edits []jirafake.Request
	for _, r := range f.fake.Requests() {
		if r.Method == http.MethodPut {
			edits = append(edits, r)
		}
	}
	g.Expect(edits).To(HaveLen(1))
	g.Expect(edits[0].Path).To(Equal("/rest/api/3/issue/" + key))
	g.Expect(edits[0].Status).To(Equal(http.StatusNoContent))
	g.Expect(string(edits[0].Body)).To(MatchJSON(`{"update":{"labels":[{"add":"agent-smith:in-progress"},
		{"remove":"agent-smith:queued"},{"remove":"agent-smith:awaiting-input"},{"remove":"agent-smith:done"},{"remove":"agent-smith:failed"},{"remove":"agent-smith:cancelled"}]}}`))
	g.Expect(mustIssue(t, f.fake, key).Labels).To(Equal([]string{"bug", "agent-smith:in-progress"}))
}

func mustIssue(t *testing.T, fake *jirafake.Server, key string) jirafake.Issue {
	t.Helper()
	is, ok := fake.Issue(key)
	if !ok {
		t.Fatalf("no issue %s", key)
	}
	return is
}

func TestOptions(t *testing.T) {
	g := NewWithT(t)
	fake := jirafake.New(jirafake.WithUser(testEmail, testToken, agentUser))
	t.Cleanup(fake.Close)
	fake.AddProject(testProject, "Shop")
	key := fake.CreateIssue(testProject, jirafake.NewIssue{Summary: "options"})
	tc := trackerConfig(fake)
	tc.URL = "https://acme.atlassian.net"
	tr, err := New("shop", tc, testConfig(), WithHTTPClient(fake.Client()), WithBaseURL(fake.URL+"/"), WithMaxRateLimitWait(2*time.Second))
	g.Expect(err).NotTo(HaveOccurred())
	w := &retrytest.Clock{}
	record(tr.api, w)

	tk, err := tr.Ticket(context.Background(), key)
	g.Expect(err).NotTo(HaveOccurred(), "the base URL replaces the configured site")
	g.Expect(tk.URL).To(Equal(fake.URL+"/browse/"+key), "web URLs follow it too")

	fake.FailNext(1, http.StatusTooManyRequests, 3*time.Second)
	_, err = tr.Ticket(context.Background(), key)
	g.Expect(err).To(MatchError(ContainSubstring("Jira asks to wait 3s, longer than the 2s a call may wait")))
	g.Expect(w.Waits()).To(BeEmpty())
}
