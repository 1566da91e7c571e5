package intake

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

func TestSignatureMatrix(t *testing.T) {
	cases := []struct {
		name   string
		path   string
		secret string
		status int
	}{
		{"right secret", "/webhooks/github/shop", shopSecret, http.StatusAccepted},
		{"no signature", "/webhooks/github/shop", "", http.StatusUnauthorized},
		{"wrong secret", "/webhooks/github/shop", "guessed", http.StatusUnauthorized},
		{"other tracker's secret", "/webhooks/github/shop", docsSecret, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t)
			n := e.issue("agent-smith", "shop")
			a := e.deliver(t, tc.path, tc.secret, e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
			g.Expect(a.Status).To(Equal(tc.status), "%s", a)
			if tc.status != http.StatusAccepted {
				g.Expect(a.Body).To(HaveKeyWithValue("error", ContainSubstring("X-Hub-Signature-256")))
				g.Expect(a.raw).NotTo(ContainSubstring(shopSecret))
				g.Expect(e.runs.submits.Load()).To(BeZero(), "nothing is queued unless it verified")
				g.Expect(e.queued(t)).To(BeEmpty())
			}
		})
	}
}

func TestEveryStatusCode(t *testing.T) {
	type setup struct {
		e *env
		n int
	}
	json := http.Header{"Content-Type": {"application/json"}}
	cases := []struct {
		name    string
		opts    []Option
		send    func(t *testing.T, s setup) answer
		status  int
		outcome string
		field   string
		want    string
	}{
		{name: "labeled issue is queued", status: http.StatusAccepted, outcome: "queued",
			send: func(t *testing.T, s setup) answer {
				return s.e.deliver(t, "/webhooks/github/shop", shopSecret, s.e.fake.IssuesEvent("acme/shop", s.n, "labeled", "agent-smith", alice))
			}},
		{name: "wrong action", status: http.StatusOK, outcome: "ignored", field: "reason", want: "action edited is not work",
			send: func(t *testing.T, s setup) answer {
				return s.e.deliver(t, "/webhooks/github/shop", shopSecret, s.e.fake.IssuesEvent("acme/shop", s.n, "edited", "", alice))
			}},
		{name: "no trigger label", status: http.StatusOK, outcome: "ignored", field: "reason", want: `label "bug" is not a trigger label`,
			send: func(t *testing.T, s setup) answer {
				return s.e.deliver(t, "/webhooks/github/shop", shopSecret, s.e.fake.IssuesEvent("acme/shop", s.n, "labeled", "bug", alice))
			}},
		{name: "no matching project", status: http.StatusOK, outcome: "ignored", field: "reason", want: `no project matches (shop: no label "shop"; storefront: no label "frontend")`,
			send: func(t *testing.T, s setup) answer {
				n := s.e.issue("agent-smith")
				return s.e.deliver(t, "/webhooks/github/shop", shopSecret, s.e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
			}},
		{name: "ticket already has an active run", status: http.StatusOK, outcome: "ignored", field: "reason", want: "already has active run",
			send: func(t *testing.T, s setup) answer {
				first := s.e.deliver(t, "/webhooks/github/shop", shopSecret, s.e.fake.IssuesEvent("acme/shop", s.n, "labeled", "agent-smith", alice))
				if first.Status != http.StatusAccepted {
					t.Fatalf("first delivery: %s", first)
				}
				return s.e.deliver(t, "/webhooks/github/shop", shopSecret, s.e.fake.IssuesEvent("acme/shop", s.n, "reopened", "", alice))
			}},
		{name: "duplicate delivery", status: http.StatusOK, outcome: "ignored", field: "reason", want: "duplicate delivery",
			send: func(t *testing.T, s setup) answer {
				d := s.e.fake.IssuesEvent("acme/shop", s.n, "labeled", "agent-smith", alice)
				s.e.deliver(t, "/webhooks/github/shop", shopSecret, d)
				return s.e.deliver(t, "/webhooks/github/shop", shopSecret, d.Redelivery())
			}},
		{name: "ping", status: http.StatusOK, outcome: "ignored", field: "reason", want: "ping",
			send: func(t *testing.T, s setup) answer {
				return s.e.deliver(t, "/webhooks/github/shop", shopSecret, s.e.fake.PingEvent())
			}},
		{name: "tracker without a webhook secret", status: http.StatusForbidden, field: "error", want: "tracker wiki has no webhook_secret",
			send: func(t *testing.T, s setup) answer {
				return s.e.post(t, http.MethodPost, "/webhooks/gitlab", json, []byte(`{}`))
			}},
		{name: "missing signature", status: http.StatusUnauthorized, field: "error", want: "no X-Hub-Signature-256 header",
			send: func(t *testing.T, s setup) answer {
				return s.e.deliver(t, "/webhooks/github/shop", "", s.e.fake.IssuesEvent("acme/shop", s.n, "labeled", "agent-smith", alice))
			}},
		{name: "body that does not parse", status: http.StatusBadRequest, field: "error", want: "webhook body does not parse",
			send: func(t *testing.T, s setup) answer {
				d := s.e.fake.IssuesEvent("acme/shop", s.n, "labeled", "agent-smith", alice)
				return s.e.deliver(t, "/webhooks/github/shop", shopSecret, d.WithBody(d.Body[:100]))
			}},
		{name: "unknown tracker type", status: http.StatusNotFound, field: "error", want: "no tracker of type jira",
			send: func(t *testing.T, s setup) answer {
				return s.e.post(t, http.MethodPost, "/webhooks/jira", json, []byte(`{}`))
			}},
		{name: "unknown tracker name", status: http.StatusNotFound, field: "error", want: "no github tracker named blog",
			send: func(t *testing.T, s setup) answer {
				return s.e.post(t, http.MethodPost, "/webhooks/github/blog", json, []byte(`{}`))
			}},
		{name: "short path shared by two trackers", status: http.StatusNotFound, field: "error", want: "use /webhooks/github/{tracker-name}",
			send: func(t *testing.T, s setup) answer {
				return s.e.post(t, http.MethodPost, "/webhooks/github", json, []byte(`{}`))
			}},
		{name: "path outside the scheme", status: http.StatusNotFound, field: "error", want: "webhook paths are",
			send: func(t *testing.T, s setup) answer {
				return s.e.post(t, http.MethodPost, "/webhooks/github/shop/extra", json, []byte(`{}`))
			}},
		{name: "wrong method", status: http.StatusMethodNotAllowed, field: "error", want: "not GET",
			send: func(t *testing.T, s setup) answer {
				return s.e.post(t, http.MethodGet, "/webhooks/github/shop", nil, nil)
			}},
		{name: "wrong content type", status: http.StatusUnsupportedMediaType, field: "error", want: "text/plain is not accepted",
			send: func(t *testing.T, s setup) answer {
				return s.e.post(t, http.MethodPost, "/webhooks/github/shop", http.Header{"Content-Type": {"text/plain"}}, []byte(`{}`))
			}},
		{name: "form-encoded GitHub delivery", status: http.StatusUnsupportedMediaType, field: "error", want: "set the webhook's content type to application/json",
			send: func(t *testing.T, s setup) answer {
				d := s.e.fake.IssuesEvent("acme/shop", s.n, "labeled", "agent-smith", alice)
				h := d.Header(shopSecret)
				h.Set("Content-Type", "application/x-www-form-urlencoded")
				return s.e.post(t, http.MethodPost, "/webhooks/github/shop", h, d.Body)
			}},
		{name: "body over the limit", opts: []Option{WithBodyLimit(4096)}, status: http.StatusRequestEntityTooLarge, field: "error", want: "over the 4096 byte limit",
			send: func(t *testing.T, s setup) answer {
				n := s.e.fake.CreateIssue("acme/shop", githubfake.NewIssue{Title: "big", Body: strings.Repeat("x", 5000), Labels: []string{"agent-smith", "shop"}})
				return s.e.deliver(t, "/webhooks/github/shop", shopSecret, s.e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, tc.opts...)
			a := tc.send(t, setup{e: e, n: e.issue("agent-smith", "shop")})
			g.Expect(a.Status).To(Equal(tc.status), "%s", a)
			g.Expect(a.Header.Get("Content-Type")).To(Equal("application/json"))
			if tc.outcome != "" {
				g.Expect(a.Body).To(HaveKeyWithValue("outcome", tc.outcome))
			}
			if tc.field != "" {
				g.Expect(a.Body).To(HaveKeyWithValue(tc.field, ContainSubstring(tc.want)))
			}
			if tc.status == http.StatusMethodNotAllowed {
				g.Expect(a.Header.Get("Allow")).To(Equal("POST"))
			}
		})
	}
}

func TestLabeledDeliveryQueuesOneRunAndItsRedeliveryNone(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.issue("agent-smith", "shop", "enhancement")
	d := e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice)

	first := e.deliver(t, "/webhooks/github/shop", shopSecret, d)
	g.Expect(first.Status).To(Equal(http.StatusAccepted), "%s", first)
	g.Expect(first.Body).To(HaveKeyWithValue("tracker", "shop"))
	g.Expect(first.Body).To(HaveKeyWithValue("ticket", itoa(n)))
	g.Expect(first.Body).To(HaveKeyWithValue("delivery", d.ID))
	g.Expect(first.runs()).To(HaveLen(1))

	queued := e.queued(t)
	g.Expect(queued).To(HaveLen(1))
	run := queued[0]
	g.Expect(run.ID).To(Equal(first.runs()[0]))
	g.Expect(run.Project).To(Equal("shop"))
	g.Expect(run.Pipeline).To(Equal("add-feature"), "global pipeline_triggers maps enhancement")
	g.Expect(run.Tracker).To(Equal("shop"))
	g.Expect(run.Ticket).To(Equal(itoa(n)))
	g.Expect(run.Repos).To(Equal([]string{"shop-api", "shop-web"}))
	g.Expect(run.DeliveryID).To(Equal(d.ID))
	g.Expect(run.TicketURL).To(Equal(e.fake.URL + "/acme/shop/issues/" + itoa(n)))
	g.Expect(run).To(And(HaveField("Trigger", "label agent-smith added"), HaveField("TriggerComment", ""), HaveField("DoneStatus", "closed")))

	for range 3 {
		again := e.deliver(t, "/webhooks/github/shop", shopSecret, d.Redelivery())
		g.Expect(again.Status).To(Equal(http.StatusOK), "%s", again)
		g.Expect(again.Body).To(HaveKeyWithValue("reason", ContainSubstring("duplicate delivery, it led to run "+run.ID)))
	}
	g.Expect(e.queued(t)).To(HaveLen(1), "redeliveries queue nothing")
}

func TestCommentsThatQueueNothing(t *testing.T) {
	bob := githubfake.User{Login: "bob"}
	cases := []struct {
		name   string
		send   func(e *env) githubfake.Delivery
		reason string
	}{
		{"keyword comment on a pull request", func(e *env) githubfake.Delivery {
			pr := e.fake.CreateIssue("acme/shop", githubfake.NewIssue{Title: "PR", Labels: []string{"shop"}, PullRequest: true})
			return e.fake.IssueCommentEvent("acme/shop", e.fake.AddComment("acme/shop", pr, "/agent-smith fix-bug", bob, githubfake.AssociationOwner), "created")
		}, "comment on a pull request; pull requests are not tickets"},
		{"keyword comment by a contributor without write access", func(e *env) githubfake.Delivery {
			n := e.issue("shop")
			return e.fake.IssueCommentEvent("acme/shop", e.fake.AddComment("acme/shop", n, "/agent-smith fix-bug", bob, githubfake.AssociationContributor), "created")
		}, "comment author bob may not instruct agent-smith (no write access)"},
		{"keyword comment by a stranger", func(e *env) githubfake.Delivery {
			n := e.issue("shop")
			return e.fake.IssueCommentEvent("acme/shop", e.fake.AddComment("acme/shop", n, "/agent-smith", bob, githubfake.AssociationNone), "created")
		}, "comment author bob may not instruct agent-smith (no write access)"},
		{"trusted comment without the keyword", func(e *env) githubfake.Delivery {
			n := e.issue("shop")
			return e.fake.IssueCommentEvent("acme/shop", e.fake.AddComment("acme/shop", n, "looks good", bob, githubfake.AssociationMember), "created")
		}, "comment has no /agent-smith command"},
		{"agent-smith's own marked comment with the keyword, by the token's person", func(e *env) githubfake.Delivery {
			n := e.issue("shop")
			body := "<!-- agent-smith:done run=r1 -->\n/agent-smith fix-bug was what the model summarised"
			return e.fake.IssueCommentEvent("acme/shop", e.fake.AddComment("acme/shop", n, body, githubfake.TokenOwner, githubfake.AssociationCollaborator), "created")
		}, "comment by agent-smith itself"},
		{"agent-smith's own status comment", func(e *env) githubfake.Delivery {
			n := e.issue("shop")
			return e.fake.IssueCommentEvent("acme/shop", e.fake.AddComment("acme/shop", n, "/agent-smith is working", githubfake.User{Login: "agent-smith[bot]", Bot: true}, githubfake.AssociationNone), "created")
		}, "comment by bot agent-smith[bot]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t)
			a := e.deliver(t, "/webhooks/github/shop", shopSecret, tc.send(e))
			g.Expect(a.Status).To(Equal(http.StatusOK), "%s", a)
			g.Expect(a.Body).To(HaveKeyWithValue("reason", ContainSubstring(tc.reason)))
			g.Expect(e.runs.submits.Load()).To(BeZero())
			g.Expect(e.queued(t)).To(BeEmpty())
		})
	}
}

func TestTrustedKeywordCommentRetriggersWithItsPipeline(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.issue("shop", "agent-smith:done")
	cid := e.fake.AddComment("acme/shop", n, "Still broken.\n/agent-smith fix-no-test", githubfake.User{Login: "carol"}, githubfake.AssociationCollaborator)
	a := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssueCommentEvent("acme/shop", cid, "created"))
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%s", a)
	queued := e.queued(t)
	g.Expect(queued).To(HaveLen(1))
	g.Expect(queued[0].Pipeline).To(Equal("fix-no-test"))
	g.Expect(queued[0].Labels).To(Equal([]string{"shop"}), "lifecycle labels are not the labels that triggered")
	g.Expect(queued[0].TriggerComment).To(Equal("Still broken.\n/agent-smith fix-no-test"))
}

// TestHostileMarkedCommentIsItsAuthorsNotAgentSmiths: a member's comment
// that starts with agent-smith's marker is judged as the member's: its
// keyword queues a run like any other.
func TestHostileMarkedCommentIsItsAuthorsNotAgentSmiths(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.issue("shop", "agent-smith:done")
	body := "<!-- agent-smith:questions run=r1 -->\n/agent-smith fix-bug"
	cid := e.fake.AddComment("acme/shop", n, body, githubfake.User{Login: "mallory"}, githubfake.AssociationMember)
	a := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssueCommentEvent("acme/shop", cid, "created"))
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%s", a)
	g.Expect(e.queued(t)).To(ConsistOf(HaveField("Trigger", "comment by mallory")))
}

func TestTrustedCommentResumesParkedRun(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.issue("agent-smith", "shop")
	first := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
	g.Expect(first.Status).To(Equal(http.StatusAccepted), "%s", first)
	id := first.runs()[0]
	e.parkRun(t, id)

	stranger := e.fake.AddComment("acme/shop", n, "use postgres", githubfake.User{Login: "mallory"}, githubfake.AssociationNone)
	a := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssueCommentEvent("acme/shop", stranger, "created"))
	g.Expect(a.Status).To(Equal(http.StatusOK), "%s", a)
	g.Expect(e.runs.resumes.Load()).To(BeZero(), "an untrusted comment answers nothing")

	ownQuestions := e.fake.AddComment("acme/shop", n, "<!-- agent-smith:questions run="+id+" -->\n1. SQLite or Postgres?", githubfake.TokenOwner, githubfake.AssociationCollaborator)
	a = e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssueCommentEvent("acme/shop", ownQuestions, "created"))
	g.Expect(a.Status).To(Equal(http.StatusOK), "%s", a)
	g.Expect(a.Body).To(HaveKeyWithValue("reason", ContainSubstring("agent-smith itself")))
	g.Expect(e.runs.resumes.Load()).To(BeZero(), "agent-smith's questions do not answer themselves")

	answer := e.fake.AddComment("acme/shop", n, "1. Use SQLite.\n2. Keep the API.", githubfake.User{Login: "carol"}, githubfake.AssociationOwner)
	answerDelivery := e.fake.IssueCommentEvent("acme/shop", answer, "created")
	a = e.deliver(t, "/webhooks/github/shop", shopSecret, answerDelivery)
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%s", a)
	g.Expect(a.Body).To(HaveKeyWithValue("outcome", "resumed"))
	g.Expect(a.runs()).To(Equal([]string{id}))
	run, err := e.store.Get(context.Background(), id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(run.State).To(Equal(runs.StateQueued))
	g.Expect(run.Answer).To(Equal(runs.Answer{Text: "1. Use SQLite.\n2. Keep the API.", Author: "carol"}))
	g.Expect(e.runs.submits.Load()).To(Equal(int64(1)), "an answer does not start another run")

	// The run parks again with new questions; a redelivery of the old
	// answer must not answer them.
	e.parkRun(t, id)
	again := e.deliver(t, "/webhooks/github/shop", shopSecret, answerDelivery.Redelivery())
	g.Expect(again.Status).To(Equal(http.StatusOK), "%s", again)
	g.Expect(again.Body).To(HaveKeyWithValue("outcome", "duplicate"))
	run, err = e.store.Get(context.Background(), id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(run.State).To(Equal(runs.StateAwaitingInput))
}

func TestTwoMatchingProjectsGetOneRunAndSayWhy(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.issue("agent-smith", "shop", "frontend")
	d := e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice)
	a := e.deliver(t, "/webhooks/github/shop", shopSecret, d)
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%s", a)
	g.Expect(a.runs()).To(HaveLen(1))
	id := a.runs()[0]
	g.Expect(a.Body["projects"]).To(Equal([]any{
		map[string]any{"project": "shop", "pipeline": "fix-bug", "outcome": "queued", "run": id},
		map[string]any{"project": "storefront", "pipeline": "fix-bug", "outcome": "ticket_active", "run": id},
	}))
	g.Expect(a.Body).To(HaveKeyWithValue("reason", "storefront: ticket "+itoa(n)+" already has active run "+id))

	again := e.deliver(t, "/webhooks/github/shop", shopSecret, d.Redelivery())
	g.Expect(again.Status).To(Equal(http.StatusOK), "%s", again)
	g.Expect(again.Body["projects"]).To(ConsistOf(
		HaveKeyWithValue("outcome", "duplicate_delivery"), HaveKeyWithValue("outcome", "duplicate_delivery")))
	g.Expect(e.queued(t)).To(HaveLen(1))
}

func TestRepoResolvedTrackerOnItsNamedPath(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.fake.CreateIssue("acme/docs", githubfake.NewIssue{Title: "Typo", Labels: []string{"agent-smith"}})
	a := e.deliver(t, "/webhooks/github/docs", docsSecret, e.fake.IssuesEvent("acme/docs", n, "labeled", "agent-smith", alice))
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%s", a)
	g.Expect(e.queued(t)).To(ConsistOf(HaveField("Project", "docs")))
}

func TestRedisUnreachableAnswers503AndQueuesNothing(t *testing.T) {
	g := NewWithT(t)
	dead := testenv.OwnRedis(t)
	e := newEnv(t)
	store, err := runs.NewStore(dead.Client(t), runs.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	e.handler.runs = StoreRuns(store)
	dead.Kill()

	n := e.issue("agent-smith", "shop")
	a := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
	g.Expect(a.Status).To(Equal(http.StatusServiceUnavailable), "%s", a)
	g.Expect(a.Header.Get("Retry-After")).NotTo(BeEmpty())
	g.Expect(a.Body).To(HaveKeyWithValue("error", ContainSubstring("run store (Redis) is unavailable")))
	g.Expect(a.raw).NotTo(ContainSubstring(dead.Addr), "internal addresses stay in the log")

	g.Expect(dead.Start()).To(Succeed())
	d := e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice)
	g.Eventually(func() int { return e.deliver(t, "/webhooks/github/shop", shopSecret, d.Redelivery()).Status }).
		WithTimeout(10*time.Second).Should(Equal(http.StatusAccepted), "the sender's retry is queued once Redis is back")
}

func TestSlowBodyTimesOut(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, WithReadTimeout(100*time.Millisecond))
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/github/shop", pr)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = 1000
	go func() { _, _ = pw.Write(bytes.Repeat([]byte(" "), 10)) }()
	resp, err := e.srv.Client().Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	_ = pw.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusRequestTimeout))
	g.Expect(e.runs.submits.Load()).To(BeZero())
}
