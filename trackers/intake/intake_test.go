package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/github"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

func TestPollingPicksUpLabeledIssueOnceAcrossPollsAndPollers(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.issue("agent-smith", "shop")
	e.issue("bug", "shop")
	// Two replicas' pollers, each with its own client (a deposed leader
	// finishing a poll while the new leader starts one).
	var pollers []trackers.Poller
	for range 2 {
		tr, err := github.New("shop", e.cfg.Trackers["shop"], e.cfg, github.WithHTTPClient(e.fake.Client()))
		g.Expect(err).NotTo(HaveOccurred())
		pollers = append(pollers, tr)
	}
	var mu sync.Mutex
	var queued []string
	for round := range 3 {
		var wg sync.WaitGroup
		for _, p := range pollers {
			wg.Go(func() {
				res, err := Poll(context.Background(), e.cfg, "shop", p, e.runs)
				g.Expect(err).NotTo(HaveOccurred(), "round %d", round)
				g.Expect(res.Candidates).To(Equal(1))
				mu.Lock()
				queued = append(queued, res.Queued...)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	g.Expect(queued).To(HaveLen(1), "six polls by two pollers queue the ticket once")
	g.Expect(e.queued(t)).To(ConsistOf(HaveField("Ticket", itoa(n))))

	// Once the worker has put a lifecycle label on it, polling no longer
	// lists the ticket at all.
	g.Expect(e.trackers["shop"].SetLifecycle(context.Background(), itoa(n), trackers.LifecycleQueued)).To(Succeed())
	res, err := Poll(context.Background(), e.cfg, "shop", pollers[0], e.runs)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(PollResult{}))
}

func TestPollSkipsTicketsNoProjectTakes(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.issue("agent-smith")
	res, err := Poll(context.Background(), e.cfg, "shop", e.trackers["shop"], e.runs)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(PollResult{Candidates: 1, Unmatched: 1, Skipped: []Skipped{{Ticket: "1",
		What:   "a polled ticket with a trigger label matches no project",
		Reason: `no project matches (shop: no label "shop"; storefront: no label "frontend")`}}}))
	g.Expect(e.runs.submits.Load()).To(BeZero())
}

func TestMetricsCountDeliveriesByTrackerEventAndOutcome(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.issue("agent-smith", "shop")
	d := e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice)
	e.deliver(t, "/webhooks/github/shop", shopSecret, d)
	e.deliver(t, "/webhooks/github/shop", shopSecret, d.Redelivery())
	e.deliver(t, "/webhooks/github/shop", "wrong", d)
	e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "closed", "", alice))
	e.post(t, http.MethodPost, "/webhooks/github/attacker-chosen-name", http.Header{"Content-Type": {"application/json"}}, []byte(`{}`))

	count := func(tracker, event, outcome string) float64 {
		var m dto.Metric
		g.Expect(e.handler.metrics.deliveries.WithLabelValues(tracker, event, outcome).Write(&m)).To(Succeed())
		return m.GetCounter().GetValue()
	}
	g.Expect(count("shop", "issues.labeled", "queued")).To(Equal(1.0))
	g.Expect(count("shop", "issues.labeled", "duplicate")).To(Equal(1.0))
	g.Expect(count("shop", "unverified", "unauthorized")).To(Equal(1.0))
	g.Expect(count("shop", "issues.closed", "cancelled")).To(Equal(1.0), "closing the issue cancelled its run")
	g.Expect(count("unknown", "unverified", "not_found")).To(Equal(1.0), "request paths never become label values")

	families, err := e.reg.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	series := map[string]int{}
	for _, f := range families {
		series[f.GetName()] = len(f.GetMetric())
		if f.GetName() == "agentsmith_webhook_request_duration_seconds" {
			for _, m := range f.GetMetric() {
				g.Expect(m.GetHistogram().GetSampleCount()).To(BeNumerically(">", 0))
			}
		}
	}
	g.Expect(series).To(Equal(map[string]int{
		"agentsmith_webhook_deliveries_total":         5,
		"agentsmith_webhook_request_duration_seconds": 2, // shop and unknown
	}))
}

// A replica has one handler and one registry; a configuration reload
// reloads the handler. A second handler on the same registry is a wiring
// mistake, said at start rather than hidden.
func TestASecondHandlerOnTheSameRegistryIsRefused(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	_, err := New(e.cfg, e.trackers, e.runs, funcr.New(func(string, string) {}, funcr.Options{}), e.reg)
	g.Expect(err).To(MatchError(ContainSubstring("register webhook metrics")))
}

func TestStartupSaysWhichTrackersRefuseWebhooks(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	var lines []string
	log := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{})
	_, err := New(e.cfg, e.trackers, e.runs, log, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(lines).To(ConsistOf(And(ContainSubstring("tracker has no webhook_secret"), ContainSubstring(`"tracker"="wiki"`),
		ContainSubstring("set trackers.wiki.webhook_secret"))))
}

func TestChunkedBodyOverTheLimitIsRefused(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, WithBodyLimit(1024))
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/github/shop", io.NopCloser(bytes.NewReader(make([]byte, 4096))))
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	g.Expect(req.ContentLength).To(BeZero(), "sent chunked, without a length to refuse early")
	resp, err := e.srv.Client().Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	g.Expect(resp.StatusCode).To(Equal(http.StatusRequestEntityTooLarge))
}

func TestReloadSwitchesTrackers(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.issue("agent-smith", "shop")
	e.handler.Reload(e.cfg, map[string]trackers.Tracker{"docs": e.trackers["docs"]})
	a := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
	g.Expect(a.Status).To(Equal(http.StatusNotFound), "%s", a)
	g.Expect(a.Body).To(HaveKeyWithValue("error", "tracker shop is configured but not running (see the orchestrator log)"))
}

func TestMediaTypes(t *testing.T) {
	cases := map[string]bool{
		"application/json":                  true,
		"application/json; charset=utf-8":   true,
		"Application/JSON; charset=UTF-8":   true,
		"application/json; charset=latin1":  false,
		"application/x-www-form-urlencoded": false,
		"text/plain":                        false,
		"":                                  false,
		"application/json; charset":         false,
	}
	for ct, ok := range cases {
		if got := mediaTypeProblem(ct) == ""; got != ok {
			t.Errorf("mediaTypeProblem(%q) = %q, want accepted=%v", ct, mediaTypeProblem(ct), ok)
		}
	}
}

func TestUnavailableTellsOutageFromRefusal(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("submit ticket 1: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{fmt.Errorf("submit ticket 1: %w", io.EOF), true},
		{fmt.Errorf("submit ticket 1: %w", redis.ErrClosed), true},
		{fmt.Errorf("submit ticket 1: %w", redis.ErrPoolTimeout), true},
		{fmt.Errorf("submit ticket 1: %w", context.DeadlineExceeded), true},
		{fmt.Errorf("submit ticket 1: %w", os.ErrDeadlineExceeded), true},
		{fmt.Errorf("submit ticket 1: %w", proto("LOADING Redis is loading the dataset in memory")), true},
		{fmt.Errorf("submit ticket 1: %w", proto("READONLY You can't write against a read only replica.")), true},
		{fmt.Errorf("submit ticket 1: %w", errors.New("project is empty")), false},
		{fmt.Errorf("submit ticket 1: %w", proto("ERR Error running script")), false},
		{fmt.Errorf("get run: %w", runs.ErrNotFound), false},
	}
	for _, tc := range cases {
		if got := unavailable(tc.err); got != tc.want {
			t.Errorf("unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// proto is a Redis error reply as go-redis returns it.
type proto string

func (p proto) Error() string { return string(p) }
func (p proto) RedisError()   {}

var _ redis.Error = proto("")

func TestNothingOnTheRequestPathTalksToGitHub(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.issue("agent-smith", "shop")
	cid := e.fake.AddComment("acme/shop", n, "/agent-smith", githubfake.User{Login: "c"}, githubfake.AssociationOwner)
	before := len(e.fake.Requests())
	for _, d := range []githubfake.Delivery{
		e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice),
		e.fake.IssueCommentEvent("acme/shop", cid, "created"),
		e.fake.PingEvent(),
	} {
		a := e.deliver(t, "/webhooks/github/shop", shopSecret, d)
		g.Expect(a.Status).To(BeNumerically("<", 300), "%s", a)
	}
	g.Expect(e.fake.Requests()[before:]).To(BeEmpty(), "webhook handling made GitHub API calls: %v", strings.Repeat("!", 0))
}
