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
	srv := httptest.NewServer(Routes{Health: health}.Handler())
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
	s := NewHTTPServer("127.0.0.1:0", Routes{Health: &Health{}, Gatherer: reg}.Handler(), testr.New(t))
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
