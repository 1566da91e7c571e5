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
// The console (run API and web page), with runs' ticket and comment text,
// and the metrics answer only on the admin mux.
func TestConsoleAndMetricsAreOnlyOnTheAdminListener(t *testing.T) {
	g := NewWithT(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentsmith_runs_in_flight", Help: "Runs."}))
	webhooks := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusAccepted, map[string]string{"outcome": "queued"})
	})
	// The console's own paths, as internal/console routes them.
	console := http.NewServeMux()
	for _, p := range []string{"GET /{$}", "GET /api/runs"} {
		console.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"runs": []any{}})
		})
	}
	routes := Routes{Webhooks: webhooks, Console: console, Health: &Health{}, Gatherer: reg}
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
	for _, path := range []string{"/", "/runs/20260101-000000-zzzz", "/api/runs", "/api/runs/20260101-000000-zzzz", "/metrics"} {
		g.Expect(status(public, http.MethodGet, path)).To(Equal(http.StatusNotFound), "public %s", path)
	}
	g.Expect(status(public, http.MethodPost, "/webhooks/github")).To(Equal(http.StatusAccepted))
	g.Expect(status(public, http.MethodGet, "/readyz")).To(Equal(http.StatusOK))
	g.Expect(status(admin, http.MethodGet, "/api/runs")).To(Equal(http.StatusOK))
	g.Expect(status(admin, http.MethodGet, "/")).To(Equal(http.StatusOK), "the web page")
	g.Expect(status(admin, http.MethodGet, "/metrics")).To(Equal(http.StatusOK))
	g.Expect(status(admin, http.MethodPost, "/webhooks/github")).To(Equal(http.StatusNotFound), "webhooks are not on the admin listener")
}
