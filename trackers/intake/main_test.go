package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
	"github.com/agent-smith/agent-smith/trackers/github"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

// The end-to-end tests share a redis-server (testenv.SharedRedis).
func TestMain(m *testing.M) {
	if job := os.Getenv(loadgenEnv); job != "" {
		os.Exit(runLoadgen(job))
	}
	testenv.Main(m)
}

const (
	shopSecret = "shop-webhook-secret"
	docsSecret = "docs-webhook-secret"
	token      = "ghp_intake-test-token"
)

// configYAML has two GitHub trackers (so the short path is ambiguous), one
// GitLab tracker without a webhook secret, and projects resolved by tag and
// by repository. %[1]s is the fake GitHub's root URL.
const configYAML = `
agents:
  replay: {type: scripted, script: /etc/agent-smith/fix-bug.json}
repos:
  shop-api: {type: github, url: "%[1]s/acme/shop-api", auth: gh}
  shop-web: {type: github, url: "%[1]s/acme/shop-web", auth: gh}
  docs:     {type: github, url: "%[1]s/acme/docs", auth: gh}
  wiki:     {type: gitlab, url: "https://gitlab.example/acme/wiki", auth: gl}
trackers:
  shop:
    type: github
    url: "%[1]s/api/v3"
    project: acme/shop
    auth: gh
    webhook_secret: ${SHOP_SECRET}
    trigger_labels: [agent-smith]
  docs:
    type: github
    url: "%[1]s/api/v3"
    project: acme/docs
    auth: gh
    webhook_secret: ${DOCS_SECRET}
  wiki:
    type: gitlab
    url: https://gitlab.example
    project: acme/wiki
    auth: gl
pipeline_triggers:
  enhancement: add-feature
projects:
  shop:
    agent: replay
    tracker: shop
    repos: [shop-api, shop-web]
    github_trigger:
      project_resolution: {strategy: tag, value: shop}
      done_status: closed
  storefront:
    agent: replay
    tracker: shop
    repos: [shop-web]
    github_trigger:
      project_resolution: {strategy: tag, value: frontend}
  docs:
    agent: replay
    tracker: docs
    repos: [docs]
    github_trigger:
      project_resolution: {strategy: repo}
  wiki:
    agent: replay
    tracker: wiki
    repos: [wiki]
skills: {source: path, path: /srv/skills}
secrets: {gh: "${GH_TOKEN}", gl: token}
`

// env is one test's world: a fake GitHub, a run store under its own key
// prefix on the package's redis-server, and the endpoint on a real server.
type env struct {
	fake     *githubfake.Server
	cfg      *config.Config
	store    *runs.Store
	runs     *countingRuns
	trackers map[string]trackers.Tracker
	handler  *Handler
	srv      *httptest.Server
	reg      *prometheus.Registry
	// rdb and prefix reach the store's keys.
	rdb    *redis.Client
	prefix string
}

var prefixes atomic.Int64

func newEnv(t testing.TB, opts ...Option) *env {
	t.Helper()
	fake := githubfake.New(githubfake.WithToken(token))
	t.Cleanup(fake.Close)
	for _, r := range []string{"acme/shop", "acme/docs", "acme/shop-api", "acme/shop-web"} {
		fake.AddRepo(r, "main")
	}
	vars := map[string]string{"SHOP_SECRET": shopSecret, "DOCS_SECRET": docsSecret, "GH_TOKEN": token}
	cfg, err := config.Parse(fmt.Appendf(nil, configYAML, fake.URL), "intake_test.yml", func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}, config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	rdb, prefix := testenv.SharedRedis(t).Client(t), "i"+strconv.FormatInt(prefixes.Add(1), 10)+":"
	store, err := runs.NewStore(rdb, runs.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	trs := map[string]trackers.Tracker{}
	for _, name := range []string{"shop", "docs"} {
		tr, err := github.New(name, cfg.Trackers[name], cfg, github.WithHTTPClient(fake.Client()))
		if err != nil {
			t.Fatal(err)
		}
		// As serve's start does (connect.Warm): comment deliveries wait
		// until the tracker knows its own account.
		if _, err := tr.Self(context.Background()); err != nil {
			t.Fatal(err)
		}
		trs[name] = tr
	}
	e := &env{fake: fake, cfg: cfg, store: store, runs: &countingRuns{Runs: StoreRuns(store)}, trackers: trs, reg: prometheus.NewRegistry(),
		rdb: rdb, prefix: prefix}
	e.handler, err = New(cfg, trs, e.runs, logr.Discard(), e.reg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.handler)
	t.Cleanup(e.srv.Close)
	return e
}

// countingRuns counts what reached the store, to prove what did not.
type countingRuns struct {
	Runs
	submits atomic.Int64
	resumes atomic.Int64
}

func (c *countingRuns) Submit(ctx context.Context, sub runs.Submission) (runs.SubmitResult, error) {
	c.submits.Add(1)
	return c.Runs.Submit(ctx, sub)
}

func (c *countingRuns) Resume(ctx context.Context, id string, answer runs.Answer) (runs.Run, error) {
	c.resumes.Add(1)
	return c.Runs.Resume(ctx, id, answer)
}

// answer is a decoded reply.
type answer struct {
	Status int
	Header http.Header
	Body   map[string]any
	raw    string
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.Status, a.raw) }

func (a answer) runs() []string {
	var out []string
	list, _ := a.Body["runs"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// post sends a request to the endpoint.
func (e *env) post(t testing.TB, method, path string, h http.Header, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if h != nil {
		req.Header = h.Clone()
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{Status: resp.StatusCode, Header: resp.Header, raw: strings.TrimSpace(string(raw))}
	if err := json.Unmarshal(raw, &a.Body); err != nil {
		t.Fatalf("reply %d is not JSON: %q", resp.StatusCode, raw)
	}
	return a
}

// deliver sends a GitHub delivery signed with secret to path.
func (e *env) deliver(t testing.TB, path, secret string, d githubfake.Delivery) answer {
	t.Helper()
	return e.post(t, http.MethodPost, path, d.Header(secret), d.Body)
}

// queued lists the runs waiting in the queue.
func (e *env) queued(t testing.TB) []runs.Run {
	t.Helper()
	rs, err := e.store.List(context.Background(), runs.StateQueued, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// parkRun takes run id from the queue and parks it in awaiting_input, as a
// worker does when the plan has questions.
func (e *env) parkRun(t testing.TB, id string) { t.Helper(); e.parkRunWith(t, id, "") }

// parkRunWith parks run id as parkRun does, recording questionsComment as
// the comment its questions were posted in.
func (e *env) parkRunWith(t testing.TB, id, questionsComment string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := e.store.Dequeue(ctx, runs.Owner{Name: "replica-a"})
	if err != nil || lease.Run().ID != id {
		t.Fatalf("dequeue: %v (want %s)", err, id)
	}
	defer lease.Close()
	if _, err := lease.Apply(ctx, runs.EventReady, runs.Update{}); err != nil {
		t.Fatal(err)
	}
	if _, err := lease.Apply(ctx, runs.EventAwaitInput, runs.Update{QuestionsCommentID: questionsComment}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) issue(labels ...string) int {
	return e.fake.CreateIssue("acme/shop", githubfake.NewIssue{Title: "Checkout fails", Body: "500 on pay", Labels: labels})
}

var alice = githubfake.User{Login: "alice"}

func itoa(n int) string { return strconv.Itoa(n) }

// finalized plays the finalizer for every run that ended: their tickets'
// claims go.
func (e *env) finalized(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		entry, ok, err := e.store.NextFinalize(ctx, "finalizer-test")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
		if err := e.store.Finalized(ctx, entry, runs.FinalizeDone, ""); err != nil {
			t.Fatal(err)
		}
	}
}
