package github

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

func TestVerifyWebhookRefusesWhatItCannotVerify(t *testing.T) {
	f := newFixture(t)
	n := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	d := f.fake.IssuesEvent(shopRepo, n, "labeled", "agent-smith", githubfake.User{Login: "alice"})
	cases := []struct {
		name   string
		header func() http.Header
		body   []byte
		ok     bool
	}{
		{"signed with the secret", func() http.Header { return d.Header(testSecret) }, d.Body, true},
		{"legacy SHA-1 signature only", func() http.Header {
			h := d.Header(testSecret)
			h.Del("X-Hub-Signature-256")
			return h
		}, d.Body, false},
		{"SHA-1 value in the SHA-256 header", func() http.Header {
			h := d.Header(testSecret)
			h.Set("X-Hub-Signature-256", h.Get("X-Hub-Signature"))
			return h
		}, d.Body, false},
		{"body changed after signing", func() http.Header { return d.Header(testSecret) }, append([]byte(" "), d.Body...), false},
		{"signature not hex", func() http.Header {
			h := d.Header(testSecret)
			h.Set("X-Hub-Signature-256", "sha256=zz")
			return h
		}, d.Body, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := f.tracker.VerifyWebhook(tc.header(), tc.body)
			if tc.ok {
				NewWithT(t).Expect(err).NotTo(HaveOccurred())
				return
			}
			NewWithT(t).Expect(err).To(MatchError(trackers.ErrUnauthorized))
		})
	}
}

func TestParseWebhookDecidesWhatIsWork(t *testing.T) {
	f := newFixture(t)
	alice := githubfake.User{Login: "alice"}
	labeled := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "crash", Labels: []string{"bug", "agent-smith"}})
	plain := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "plain", Labels: []string{"bug"}})
	closed := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "closed", Labels: []string{"agent-smith"}, State: "closed"})
	pr := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "pr", Labels: []string{"agent-smith"}, PullRequest: true})
	other := f.fake.CreateIssue(apiRepo, githubfake.NewIssue{Title: "other", Labels: []string{"agent-smith"}})
	// renamed is d as GitHub sends it after the repository was renamed:
	// the id stays.
	renamed := func(d githubfake.Delivery) githubfake.Delivery {
		return d.WithBody(bytes.ReplaceAll(d.Body, []byte(`"full_name":"acme/shop"`), []byte(`"full_name":"acme/storefront"`)))
	}
	comment := func(n int, body string, u githubfake.User, assoc string) githubfake.Delivery {
		return f.fake.IssueCommentEvent(shopRepo, f.fake.AddComment(shopRepo, n, body, u, assoc), "created")
	}
	cases := []struct {
		name    string
		d       githubfake.Delivery
		kind    trackers.EventKind
		evName  string
		trigger string
		ignore  string
	}{
		{"trigger label added", f.fake.IssuesEvent(shopRepo, labeled, "labeled", "agent-smith", alice),
			trackers.EventTicket, "issues.labeled", "label agent-smith added", ""},
		{"trigger label matched case-insensitively", f.fake.IssuesEvent(shopRepo, labeled, "labeled", "AI-Fix", alice),
			trackers.EventTicket, "issues.labeled", "label AI-Fix added", ""},
		{"other label added", f.fake.IssuesEvent(shopRepo, labeled, "labeled", "bug", alice),
			trackers.EventTicket, "issues.labeled", "", `label "bug" is not a trigger label`},
		{"lifecycle label added by agent-smith", f.fake.IssuesEvent(shopRepo, labeled, "labeled", "agent-smith:queued", alice),
			trackers.EventTicket, "issues.labeled", "", `label "agent-smith:queued" is not a trigger label`},
		{"trigger label on a closed issue", f.fake.IssuesEvent(shopRepo, closed, "labeled", "agent-smith", alice),
			trackers.EventTicket, "issues.labeled", "", "issue is closed"},
		{"opened with a trigger label", f.fake.IssuesEvent(shopRepo, labeled, "opened", "", alice),
			trackers.EventTicket, "issues.opened", "issue opened with label agent-smith", ""},
		{"opened without one", f.fake.IssuesEvent(shopRepo, plain, "opened", "", alice),
			trackers.EventTicket, "issues.opened", "", "issue opened without a trigger label"},
		{"reopened with a trigger label", f.fake.IssuesEvent(shopRepo, labeled, "reopened", "", alice),
			trackers.EventTicket, "issues.reopened", "issue reopened with label agent-smith", ""},
		{"edited", f.fake.IssuesEvent(shopRepo, labeled, "edited", "", alice),
			trackers.EventTicket, "issues.edited", "", "action edited is not work"},
		{"pull request through the issues API", f.fake.IssuesEvent(shopRepo, pr, "labeled", "agent-smith", alice),
			trackers.EventTicket, "issues.labeled", "", "pull requests are not tickets"},
		{"comment on an issue", comment(labeled, "/agent-smith fix-bug", githubfake.User{Login: "bob"}, "MEMBER"),
			trackers.EventComment, "issue_comment.created", "", ""},
		{"comment on a pull request", comment(pr, "/agent-smith fix-bug", githubfake.User{Login: "bob"}, "OWNER"),
			trackers.EventComment, "issue_comment.created", "", "comment on a pull request; pull requests are not tickets"},
		{"comment by a bot", comment(labeled, "agent-smith is working on this", githubfake.User{Login: "agent-smith[bot]", Bot: true}, "NONE"),
			trackers.EventComment, "issue_comment.created", "", "comment by bot agent-smith[bot]"},
		{"edited comment", f.fake.IssueCommentEvent(shopRepo, f.fake.AddComment(shopRepo, labeled, "/agent-smith", githubfake.User{Login: "bob"}, "OWNER"), "edited"),
			trackers.EventComment, "issue_comment.edited", "", "comment edited; only new comments are read"},
		{"issue of another repository of the organization", f.fake.IssuesEvent(apiRepo, other, "labeled", "agent-smith", alice),
			trackers.EventTicket, "issues.labeled", "", "not this tracker's repository (the delivery is for acme/shop-api; tracker shop reads acme/shop)"},
		{"comment in another repository of the organization", f.fake.IssueCommentEvent(apiRepo, f.fake.AddComment(apiRepo, other, "/agent-smith", githubfake.User{Login: "bob"}, "OWNER"), "created"),
			trackers.EventTicket, "issue_comment.created", "", "not this tracker's repository (the delivery is for acme/shop-api; tracker shop reads acme/shop)"},
		{"repository renamed since: matched by its id", renamed(f.fake.IssuesEvent(shopRepo, labeled, "labeled", "agent-smith", alice)),
			trackers.EventTicket, "issues.labeled", "label agent-smith added", ""},
		{"full name spelled in another case", githubfake.Event("issues", bytes.Replace(f.fake.IssuesEvent(shopRepo, labeled, "labeled", "agent-smith", alice).Body,
			[]byte(`"full_name":"acme/shop"`), []byte(`"full_name":"Acme/Shop"`), 1)),
			trackers.EventTicket, "issues.labeled", "label agent-smith added", ""},
		{"ping", f.fake.PingEvent(), trackers.EventPing, "ping", "", ""},
		{"event agent-smith does not handle", githubfake.Event("push", []byte(`{"ref":"refs/heads/main"}`)),
			trackers.EventTicket, "push", "", "event push is not handled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			h := tc.d.Header(testSecret)
			g.Expect(f.tracker.VerifyWebhook(h, tc.d.Body)).To(Succeed())
			ev, err := f.tracker.ParseWebhook(h, tc.d.Body)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ev.DeliveryID).To(Equal(tc.d.ID))
			g.Expect(ev.Kind).To(Equal(tc.kind))
			g.Expect(ev.Name).To(Equal(tc.evName))
			g.Expect(ev.Trigger).To(Equal(tc.trigger))
			g.Expect(ev.Ignore).To(Equal(tc.ignore))
		})
	}
}

func TestParsedTicketAndCommentCarryWhatTheRunNeeds(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	n := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "Crash on save", Body: "Steps…", Labels: []string{"bug", "agent-smith"}, Assignee: "dev"})
	cid := f.fake.AddComment(shopRepo, n, "/agent-smith fix-bug\nplease", githubfake.User{Login: "carol"}, "COLLABORATOR")
	d := f.fake.IssueCommentEvent(shopRepo, cid, "created")
	ev, err := f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ev.Ticket).To(Equal(trackers.Ticket{
		ID: itoa(n), Title: "Crash on save", Body: "Steps…", URL: f.fake.URL + "/acme/shop/issues/" + itoa(n), State: "open",
		Labels: []string{"bug", "agent-smith"}, Repo: f.fake.URL + "/acme/shop.git", Assignee: "dev",
	}))
	g.Expect(ev.Comment).NotTo(BeNil())
	g.Expect(ev.Comment.ID).To(Equal(itoa(int(cid))))
	g.Expect(ev.Comment.Author).To(Equal("carol"))
	g.Expect(ev.Comment.Body).To(Equal("/agent-smith fix-bug\nplease"))
	g.Expect(ev.Comment.Trusted).To(BeTrue())
	g.Expect(ev.Comment.CreatedAt.IsZero()).To(BeFalse())
	g.Expect(ev.Mark).To(Equal(trackers.MarkAt("comment:"+itoa(int(cid)), ev.Comment.CreatedAt)))
}

// TestMarksPlaceTriggersInTheIssuesHistory: a trigger is placed by the
// issue's updated_at (labels, opening) or the comment's created_at, so a
// later trigger has a higher Seq and the same one comes again with its own.
func TestMarksPlaceTriggersInTheIssuesHistory(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	n := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "crash", Labels: []string{"agent-smith"}})
	parse := func(d githubfake.Delivery) trackers.Event {
		ev, err := f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
		g.Expect(err).NotTo(HaveOccurred())
		return ev
	}
	first := parse(f.fake.IssuesEvent(shopRepo, n, "labeled", "agent-smith", githubfake.User{Login: "alice"}))
	g.Expect(first.Mark.Key).To(Equal("label:agent-smith"))
	g.Expect(first.Mark.Seq).To(BeNumerically(">", 0))
	g.Expect(parse(f.fake.IssuesEvent(shopRepo, n, "opened", "", githubfake.User{Login: "alice"})).Mark.Key).To(Equal("opened"))
	is, _ := f.fake.Issue(shopRepo, n)
	g.Expect(first.Mark.Seq).To(Equal(is.UpdatedAt.UnixMilli()))
	g.Expect(parse(f.fake.IssuesEvent(shopRepo, n, "edited", "", githubfake.User{Login: "alice"})).Mark).To(BeZero(), "no trigger, no mark")
}

func TestParseWebhookRefusesMalformedDeliveries(t *testing.T) {
	f := newFixture(t)
	n := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	good := f.fake.IssuesEvent(shopRepo, n, "labeled", "agent-smith", githubfake.User{Login: "a"})
	cases := []struct {
		name  string
		event string
		body  string
	}{
		{"no event header", "", string(good.Body)},
		{"truncated JSON", "issues", string(good.Body[:len(good.Body)/2])},
		{"JSON null", "issues", "null"},
		{"array", "issues", "[1,2]"},
		{"issues event without issue", "issues", `{"action":"labeled","label":{"name":"agent-smith"},"repository":{"full_name":"acme/shop"}}`},
		{"labeled without label", "issues", `{"action":"labeled","issue":{"number":3,"state":"open"},"repository":{"full_name":"acme/shop"}}`},
		{"comment event without comment", "issue_comment", `{"action":"created","issue":{"number":3},"repository":{"full_name":"acme/shop"}}`},
		{"number of the wrong type", "issues", `{"action":"opened","issue":{"number":"3"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := good.Header(testSecret)
			if tc.event == "" {
				h.Del("X-GitHub-Event")
			} else {
				h.Set("X-GitHub-Event", tc.event)
			}
			_, err := f.tracker.ParseWebhook(h, []byte(tc.body))
			g := NewWithT(t)
			g.Expect(err).To(MatchError(trackers.ErrBadPayload))
			g.Expect(strings.Contains(err.Error(), testSecret)).To(BeFalse())
		})
	}
}
