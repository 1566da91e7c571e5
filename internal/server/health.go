package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Health answers the probes. /healthz says the process is alive and
// serving; /readyz says it takes work: it fails once the replica drains, and
// while a readiness check (Redis reachable) fails, so the Service routes
// webhooks to replicas that can queue them.
type Health struct {
	draining atomic.Bool
	mu       sync.Mutex
	checks   []check
}

type check struct {
	name string
	fn   func(context.Context) error
}

// AddReadinessCheck adds a check /readyz runs on every probe.
func (h *Health) AddReadinessCheck(name string, fn func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, check{name, fn})
}

// Drain makes /readyz fail from now on.
func (h *Health) Drain() { h.draining.Store(true) }

func (h *Health) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Health) readyz(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	h.mu.Lock()
	checks := append([]check(nil), h.checks...)
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	failed := map[string]string{}
	for _, c := range checks {
		if err := c.fn(ctx); err != nil {
			failed[c.name] = err.Error()
		}
	}
	if len(failed) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "failed": failed})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// String is for logs.
func (h *Health) String() string { return fmt.Sprintf("health(draining=%t)", h.draining.Load()) }
