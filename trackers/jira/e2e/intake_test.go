// Package e2e holds the end-to-end tests of Jira webhooks and polling
// through the intake endpoint, with a real redis-server; apart from the
// jira package so that the tracker's tests never import intake.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
	"github.com/agent-smith/agent-smith/trackers/intake"
	"github.com/agent-smith/agent-smith/trackers/jira"
	"github.com/agent-smith/agent-smith/trackers/jira/jirafake"
)

func TestMain(m *testing.M) {
	testenv.Main(m)
}

const (
	webhookSecret = "jira-intake-webhook-secret"
	apiToken      = "jira-intake-api-token"
	agentEmail    = "agent-smith@acme.example"
)

// intakeYAML is a Jira tracker feeding a project resolved by the label
// "shop"; %[1]s is the fake site's URL.
const intakeYAML = `
agents:
  replay: {type: scripted, script: /etc/agent-smith/fix-bug.json}
repos:
  shop-api: {type: github, url: "https://github.com/acme/shop-api", auth: gh}
trackers:
  acme:
    type: jira
    url: "%[1]s"
    project: SHOP
    auth: jira
    email: agent-smith@acme.example
    webhook_secret: ${JIRA_WEBHOOK_SECRET}
    open_states: [To Do, In Progress]
    trigger_labels: [agent-smith]
pipeline_triggers:
  enhancement: add-feature
projects:
  shop:
    agent: replay
    tracker: acme
    repos: [shop-api]
    jira_trigger:
      project_resolution: {strategy: tag, value: shop}
      done_status: In Review
skills: {source: path, path: /srv/skills}
secrets: {gh: token, jira: "${JIRA_API_TOKEN}"}
`

var (
	agentSmith = jirafake.User{AccountID: "557058:agent-smith", DisplayName: "Agent Smith"}
	alice      = jirafake.User{AccountID: "557058:alice", DisplayName: "Alice Developer"}
	carl       = jirafake.User{AccountID: "qm:customer:carl", DisplayName: "Carl Customer", AccountType: "customer"}
)

// site is one test's world: a fake Jira, the config, a run store under its
// own key prefix on the package's redis-server, and the webhook endpoint
// on a real HTTP server.
type site struct {
	fake    *jirafake.Server
	cfg     *config.Config
	tracker *jira.Tracker
	store   *runs.Store
	srv     *httptest.Server
}

var prefixes atomic.Int64

func newSite(t *testing.T) *site {
	t.Helper()
	fake := jirafake.New(jirafake.WithUser(agentEmail, apiToken, agentSmith))
	t.Cleanup(fake.Close)
	fake.AddProject("SHOP", "Shop")
	vars := map[string]string{"JIRA_WEBHOOK_SECRET": webhookSecret, "JIRA_API_TOKEN": apiToken}
	cfg, err := config.Parse(fmt.Appendf(nil, intakeYAML, fake.URL), "jira_intake_test.yml", func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}, config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	tr, err := jira.New("acme", cfg.Trackers["acme"], cfg, jira.WithHTTPClient(fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	// As serve's start does (connect.Warm): comment deliveries wait for it.
	if _, err := tr.Self(context.Background()); err != nil {
		t.Fatal(err)
	}
	store, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: "jira" + strconv.FormatInt(prefixes.Add(1), 10) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := intake.New(cfg, map[string]trackers.Tracker{"acme": tr}, intake.StoreRuns(store), logr.Discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &site{fake: fake, cfg: cfg, tracker: tr, store: store, srv: srv}
}

// answer is a decoded reply of the endpoint.
type answer struct {
	Status int
	Body   map[string]any
}

func (s *site) deliver(t *testing.T, secret string, d jirafake.Delivery) answer {
	t.Helper()
	resp, err := jirafake.Send(context.Background(), s.srv.Client(), s.srv.URL+"/webhooks/jira", secret, d)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, &a.Body); err != nil {
		t.Fatalf("reply %d is not JSON: %q", resp.StatusCode, raw)
	}
	return a
}

func (s *site) queued(t *testing.T) []runs.Run {
	t.Helper()
	rs, err := s.store.List(context.Background(), runs.StateQueued, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestLabelDeliveryQueuesOneRunAndItsRetriesNone(t *testing.T) {
	g := NewWithT(t)
	s := newSite(t)
	key := s.fake.CreateIssue("SHOP", jirafake.NewIssue{Summary: "Checkout fails", Labels: []string{"shop", "enhancement", "agent-smith"}})
	d := s.fake.LabelAdded(key, "agent-smith", alice)

	first := s.deliver(t, webhookSecret, d)
	g.Expect(first.Status).To(Equal(http.StatusAccepted), "%v", first.Body)
	g.Expect(first.Body).To(HaveKeyWithValue("tracker", "acme"))
	g.Expect(first.Body).To(HaveKeyWithValue("ticket", key))
	g.Expect(first.Body).To(HaveKeyWithValue("delivery", d.ID))

	queued := s.queued(t)
	g.Expect(queued).To(HaveLen(1))
	run := queued[0]
	g.Expect(first.Body).To(HaveKeyWithValue("runs", ConsistOf(run.ID)))
	g.Expect(run.Project).To(Equal("shop"))
	g.Expect(run.Pipeline).To(Equal("add-feature"), "global pipeline_triggers maps enhancement")
	g.Expect(run.Tracker).To(Equal("acme"))
	g.Expect(run.Ticket).To(Equal(key))
	g.Expect(run.TicketURL).To(Equal(s.fake.BrowseURL(key)))
	g.Expect(run.DeliveryID).To(Equal(d.ID))
	g.Expect(run).To(And(HaveField("Trigger", "label agent-smith added"), HaveField("DoneStatus", "In Review")))

	retry := d
	for range 3 {
		retry = retry.Redelivery()
		again := s.deliver(t, webhookSecret, retry)
		g.Expect(again.Status).To(Equal(http.StatusOK), "%v", again.Body)
		g.Expect(again.Body).To(HaveKeyWithValue("reason", ContainSubstring("duplicate delivery, it led to run "+run.ID)))
	}
	g.Expect(s.queued(t)).To(HaveLen(1), "Jira's retries queue nothing")
}

func TestAssignmentToTheAgentUserQueuesARun(t *testing.T) {
	g := NewWithT(t)
	s := newSite(t)
	key := s.fake.CreateIssue("SHOP", jirafake.NewIssue{Summary: "Slow search", Labels: []string{"shop"}})
	s.fake.Assign(key, &agentSmith)
	a := s.deliver(t, webhookSecret, s.fake.Assigned(key, nil, alice))
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%v", a.Body)
	g.Expect(s.queued(t)).To(ConsistOf(And(HaveField("Ticket", key), HaveField("Pipeline", "fix-bug"),
		HaveField("Trigger", "assigned to Agent Smith"))))
}

func TestKeywordCommentQueuesOneRun(t *testing.T) {
	g := NewWithT(t)
	s := newSite(t)
	key := s.fake.CreateIssue("SHOP", jirafake.NewIssue{Summary: "Checkout fails", Labels: []string{"shop"}})
	cid := s.fake.AddComment(key, "/agent-smith fix-bug\nThe log is attached.", alice)

	twin := s.deliver(t, webhookSecret, s.fake.CommentCreated(key, cid))
	g.Expect(twin.Status).To(Equal(http.StatusOK), "%v", twin.Body)
	g.Expect(twin.Body).To(HaveKeyWithValue("reason", HavePrefix("comment_created is not read")))

	a := s.deliver(t, webhookSecret, s.fake.Commented(key, cid))
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%v", a.Body)
	g.Expect(s.queued(t)).To(ConsistOf(And(HaveField("Ticket", key), HaveField("Pipeline", "fix-bug"),
		HaveField("TriggerComment", "/agent-smith fix-bug\nThe log is attached."))))
}

func TestDeliveriesThatQueueNothing(t *testing.T) {
	cases := []struct {
		name   string
		secret string
		send   func(s *site) jirafake.Delivery
		status int
		field  string
		want   string
	}{
		{"unsigned", "", func(s *site) jirafake.Delivery {
			return s.fake.LabelAdded(s.fake.CreateIssue("SHOP", jirafake.NewIssue{Summary: "x", Labels: []string{"shop", "agent-smith"}}), "agent-smith", alice)
		}, http.StatusUnauthorized, "error", "no X-Hub-Signature header"},
		{"signed with another secret", "guessed", func(s *site) jirafake.Delivery {
			return s.fake.LabelAdded(s.fake.CreateIssue("SHOP", jirafake.NewIssue{Summary: "x", Labels: []string{"shop", "agent-smith"}}), "agent-smith", alice)
		}, http.StatusUnauthorized, "error", "X-Hub-Signature does not match the body"},
		{"keyword comment by a portal customer", webhookSecret, func(s *site) jirafake.Delivery {
			key := s.fake.CreateIssue("SHOP", jirafake.NewIssue{Summary: "x", Labels: []string{"shop"}})
			return s.fake.Commented(key, s.fake.AddComment(key, "/agent-smith fix-bug", carl))
		}, http.StatusOK, "reason", "comment author Carl Customer may not instruct agent-smith"},
		{"trigger label on an issue of no project", webhookSecret, func(s *site) jirafake.Delivery {
			key := s.fake.CreateIssue("SHOP", jirafake.NewIssue{Summary: "x", Labels: []string{"agent-smith"}})
			return s.fake.LabelAdded(key, "agent-smith", alice)
		}, http.StatusOK, "reason", `no project matches (shop: no label "shop")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			s := newSite(t)
			a := s.deliver(t, tc.secret, tc.send(s))
			g.Expect(a.Status).To(Equal(tc.status), "%v", a.Body)
			g.Expect(a.Body).To(HaveKeyWithValue(tc.field, ContainSubstring(tc.want)))
			g.Expect(s.queued(t)).To(BeEmpty())
		})
	}
}

func TestPollingQueuesATicketOnce(t *testing.T) {
	g := NewWithT(t)
	s := newSite(t)
	key := s.fake.CreateIssue("SHOP", jirafake.NewIssue{Summary: "Checkout fails", Labels: []string{"shop", "agent-smith"}})
	s.fake.CreateIssue("SHOP", jirafake.NewIssue{Summary: "not for us", Labels: []string{"shop"}})
	var queued []string
	for range 3 {
		res, err := intake.Poll(context.Background(), s.cfg, "acme", s.tracker, intake.StoreRuns(s.store))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.Candidates).To(Equal(1))
		queued = append(queued, res.Queued...)
	}
	g.Expect(queued).To(HaveLen(1), "three polls queue the ticket once")
	g.Expect(s.queued(t)).To(ConsistOf(HaveField("Ticket", key)))

	g.Expect(s.tracker.SetLifecycle(context.Background(), key, trackers.LifecycleQueued)).To(Succeed())
	res, err := intake.Poll(context.Background(), s.cfg, "acme", s.tracker, intake.StoreRuns(s.store))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Candidates).To(BeZero(), "a ticket with a lifecycle label is no candidate")
}
