package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Routes are the orchestrator's two HTTP surfaces. Public (:8080) is what
// trackers reach, the only one an Ingress or a laptop's tunnel exposes:
// the webhooks and the probes. Admin (:8081 in a cluster, loopback on a
// laptop) is for operators: the console (the run API, whose runs carry
// ticket and comment text, and the web page; bearer tokens on top) and
// the metrics; it is never routed from outside.
type Routes struct {
	// Webhooks serves /webhooks/{tracker-type}[/{tracker-name}].
	Webhooks http.Handler
	// Console serves /api/ and the web page: every admin path but /metrics.
	Console  http.Handler
	Health   *Health
	Gatherer prometheus.Gatherer
}

// Public is the mux of the public listener: /webhooks/, /healthz, /readyz;
// anything else is 404.
func (r Routes) Public() http.Handler {
	mux := http.NewServeMux()
	if r.Webhooks != nil {
		mux.Handle("/webhooks/", r.Webhooks)
	}
	mux.HandleFunc("GET /healthz", r.Health.healthz)
	mux.HandleFunc("GET /readyz", r.Health.readyz)
	return mux
}

// Admin is the mux of the admin listener: /metrics, and the console on
// every other path.
func (r Routes) Admin() http.Handler {
	mux := http.NewServeMux()
	if r.Console != nil {
		mux.Handle("/", r.Console)
	}
	if r.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(r.Gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}

// HTTPServer serves a handler until its context ends, then shuts down,
// letting requests in flight finish. It runs on every replica.
type HTTPServer struct {
	Addr    string
	Handler http.Handler
	Log     logr.Logger
	// ShutdownTimeout bounds the wait for requests in flight.
	ShutdownTimeout time.Duration

	// listening is closed once the listener is bound (tests read Addr then).
	listening chan struct{}
}

// NewHTTPServer returns a server for handler on addr.
func NewHTTPServer(addr string, handler http.Handler, log logr.Logger) *HTTPServer {
	return &HTTPServer{Addr: addr, Handler: handler, Log: log.WithName("http"),
		ShutdownTimeout: 10 * time.Second, listening: make(chan struct{})}
}

// NeedLeaderElection is false: every replica serves webhooks and probes.
func (s *HTTPServer) NeedLeaderElection() bool { return false }

// Listening is closed once the server accepts connections; Addr then holds
// the bound address (useful with port 0).
func (s *HTTPServer) Listening() <-chan struct{} { return s.listening }

// Start serves until ctx ends.
func (s *HTTPServer) Start(ctx context.Context) error {
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	s.Addr = l.Addr().String()
	close(s.listening)
	srv := &http.Server{
		Handler: s.Handler,
		// Webhook bodies are small; a slow sender must not hold a worker.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return logr.NewContext(context.Background(), s.Log) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	s.Log.Info("serving", "addr", s.Addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
