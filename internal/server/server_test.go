package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
)

func get(g Gomega, srv *httptest.Server, path string) (int, map[string]any) {
	resp, err := http.Get(srv.URL + path)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	g.Expect(json.Unmarshal(body, &out)).To(Succeed(), "body %s", body)
	return resp.StatusCode, out
}

func TestReadyzFailsWhileDrainingOrRedisIsUnreachable(t *testing.T) {
	g := NewWithT(t)
	health := &Health{}
	var redisErr error
	health.AddReadinessCheck("redis", func(context.Context) error { return redisErr })
	srv := httptest.NewServer(Routes{Health: health}.Public())
	defer srv.Close()

	code, _ := get(g, srv, "/readyz")
	g.Expect(code).To(Equal(http.StatusOK))

	redisErr = errors.New("dial tcp: connection refused")
	code, body := get(g, srv, "/readyz")
	g.Expect(code).To(Equal(http.StatusServiceUnavailable))
	g.Expect(body["failed"]).To(HaveKeyWithValue("redis", "dial tcp: connection refused"))

	redisErr = nil
	health.Drain()
	code, body = get(g, srv, "/readyz")
	g.Expect(code).To(Equal(http.StatusServiceUnavailable))
	g.Expect(body["status"]).To(Equal("draining"))

	code, _ = get(g, srv, "/healthz")
	g.Expect(code).To(Equal(http.StatusOK), "a draining replica is still alive")
}

func TestRunAPIListsRunsAndShowsOneWithProgress(t *testing.T) {
	g := NewWithT(t)
	store, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: "runapi:"})
	g.Expect(err).NotTo(HaveOccurred())
	res, err := store.Submit(context.Background(), runs.Submission{
		Project: "todo", Pipeline: "fix-bug", Tracker: "gh", Ticket: "21", Repos: []string{"api"},
	})
	g.Expect(err).NotTo(HaveOccurred())
	id := res.RunID
	g.Expect(store.AppendProgress(context.Background(), id, "plan", "planning the change")).To(Succeed())
	srv := httptest.NewServer(Routes{Health: &Health{}, Runs: RunAPI(store)}.Admin())
	defer srv.Close()

	code, body := get(g, srv, "/api/runs")
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(body["runs"]).To(ContainElement(HaveKeyWithValue("id", id)))

	code, body = get(g, srv, "/api/runs/"+id)
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(body["run"]).To(HaveKeyWithValue("state", "queued"))
	g.Expect(body["progress"]).To(ContainElement(HaveKeyWithValue("message", "planning the change")))

	code, _ = get(g, srv, "/api/runs/20260101-000000-zzzz")
	g.Expect(code).To(Equal(http.StatusNotFound))
	code, body = get(g, srv, "/api/runs?state=bogus")
	g.Expect(code).To(Equal(http.StatusBadRequest))
	g.Expect(body["error"]).To(ContainSubstring("bogus"))
}

func TestHTTPServerServesMetricsAndStopsWithItsContext(t *testing.T) {
	g := NewWithT(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentsmith_runs_in_flight", Help: "Runs."}))
	s := NewHTTPServer("127.0.0.1:0", Routes{Health: &Health{}, Gatherer: reg}.Admin(), testr.New(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	g.Eventually(s.Listening()).Should(BeClosed())

	resp, err := http.Get("http://" + s.Addr + "/metrics")
	g.Expect(err).NotTo(HaveOccurred())
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	g.Expect(string(body)).To(ContainSubstring("agentsmith_runs_in_flight"))

	cancel()
	g.Eventually(done).Should(Receive(BeNil()))
}

// TestRunAPIAndMetricsAreOnlyOnTheAdminListener: what a tunnel or an
// Ingress exposes (the public mux) serves webhooks and probes alone; the
// runs, with their ticket and comment text, and the metrics answer only on
// the admin mux.
func TestRunAPIAndMetricsAreOnlyOnTheAdminListener(t *testing.T) {
	g := NewWithT(t)
	store, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: "split:"})
	g.Expect(err).NotTo(HaveOccurred())
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentsmith_runs_in_flight", Help: "Runs."}))
	webhooks := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusAccepted, map[string]string{"outcome": "queued"})
	})
	routes := Routes{Webhooks: webhooks, Runs: RunAPI(store), Health: &Health{}, Gatherer: reg}
	public, admin := httptest.NewServer(routes.Public()), httptest.NewServer(routes.Admin())
	defer public.Close()
	defer admin.Close()
	status := func(srv *httptest.Server, method, path string) int {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := http.DefaultClient.Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, path := range []string{"/api/runs", "/api/runs/20260101-000000-zzzz", "/metrics"} {
		g.Expect(status(public, http.MethodGet, path)).To(Equal(http.StatusNotFound), "public %s", path)
	}
	g.Expect(status(public, http.MethodPost, "/webhooks/github")).To(Equal(http.StatusAccepted))
	g.Expect(status(public, http.MethodGet, "/readyz")).To(Equal(http.StatusOK))
	g.Expect(status(admin, http.MethodGet, "/api/runs")).To(Equal(http.StatusOK))
	g.Expect(status(admin, http.MethodGet, "/metrics")).To(Equal(http.StatusOK))
	g.Expect(status(admin, http.MethodPost, "/webhooks/github")).To(Equal(http.StatusNotFound), "webhooks are not on the admin listener")
}
