package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
)

// The tests read and steer runs in a real Redis (testenv.SharedRedis) over
// real HTTP; the browser test drives a real Chromium.
func TestMain(m *testing.M) { testenv.Main(m) }

const (
	adminToken = "alice-0123456789abcdef"
	readToken  = "grafana-0123456789abcdef"
)

var prefixes atomic.Int64

// env is a console on its own key prefix, served over loopback HTTP.
type env struct {
	t       testing.TB
	store   *runs.Store
	console *Console
	srv     *httptest.Server
	tickets atomic.Int64
}

func newEnv(t testing.TB) *env {
	t.Helper()
	store, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{
		Prefix: "console" + strconv.FormatInt(prefixes.Add(1), 10) + ":", BlockTimeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := ParseTokens("alice:admin:" + adminToken + ", grafana:read:" + readToken)
	if err != nil {
		t.Fatal(err)
	}
	c := New(store, tokens, logr.Discard())
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, store: store, console: c, srv: srv}
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// submit queues a run of project for a new ticket.
func (e *env) submit(project string) runs.Run {
	e.t.Helper()
	return e.submitTitled(project, "Checkout fails")
}

// submitTitled queues a run of project for a new ticket titled title.
func (e *env) submitTitled(project, title string) runs.Run {
	e.t.Helper()
	n := strconv.FormatInt(e.tickets.Add(1), 10)
	res, err := e.store.Submit(e.ctx(), runs.Submission{
		Project: project, Pipeline: "fix-bug", Tracker: "github", Ticket: "acme/" + project + "#" + n,
		TicketURL: "https://github.com/acme/" + project + "/issues/" + n, TicketTitle: title, Repos: []string{"shop-api"},
		Trigger: "label agent-smith added by alice",
	})
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := e.store.Get(e.ctx(), res.RunID)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// start takes the oldest queued run as a replica would.
func (e *env) start() runs.Run {
	e.t.Helper()
	l, err := e.store.Dequeue(e.ctx(), runs.Owner{Name: "replica-a"})
	if err != nil {
		e.t.Fatal(err)
	}
	return l.Run()
}

func (e *env) client(token string) *Client {
	return &Client{Server: e.srv.URL, Token: token, Reconnect: 50 * time.Millisecond}
}

// call makes a request and decodes its JSON answer, whatever the status.
func (e *env) call(method, path, token, body string) (int, map[string]any, http.Header) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.ctx(), method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	NewWithT(e.t).Expect(json.Unmarshal(data, &out)).To(Succeed(), "%s %s answered %d %q", method, path, resp.StatusCode, data)
	NewWithT(e.t).Expect(resp.Header.Get("Content-Type")).To(Equal("application/json"))
	return resp.StatusCode, out, resp.Header
}

// httptestConsole serves a console over store with tokens, returning its URL.
func httptestConsole(t testing.TB, store Store, tokens string) string {
	tk, err := ParseTokens(tokens)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(store, tk, logr.Discard()).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}
