package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/agent-smith/agent-smith/runs"
)

// RunReader is what the run API reads.
type RunReader interface {
	Get(ctx context.Context, id string) (runs.Run, error)
	List(ctx context.Context, st runs.State, limit int64) ([]runs.Run, error)
	Events(ctx context.Context, id, after string, limit int64) ([]runs.Entry, error)
}

// RunAPI is the read-only run API for operators:
//
//	GET /api/runs?state=running&limit=50   runs in a state (default: every active state)
//	GET /api/runs/{id}                      one run with its progress lines
func RunAPI(store RunReader) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/runs", func(w http.ResponseWriter, r *http.Request) {
		limit, err := strconv.ParseInt(r.URL.Query().Get("limit"), 10, 64)
		if err != nil || limit <= 0 {
			limit = 100
		}
		states := []runs.State{runs.StateQueued, runs.StateProvisioning, runs.StateRunning, runs.StatePublishing, runs.StateAwaitingInput}
		if s := r.URL.Query().Get("state"); s != "" {
			st := runs.State(s)
			if !slices.Contains(runs.States, st) {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unknown state " + strconv.Quote(s), "states": runs.States})
				return
			}
			states = []runs.State{st}
		}
		out := []runs.Run{}
		for _, st := range states {
			list, err := store.List(r.Context(), st, limit)
			if err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
				return
			}
			out = append(out, list...)
		}
		writeJSON(w, http.StatusOK, map[string]any{"runs": out})
	})
	mux.HandleFunc("GET /api/runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		run, err := store.Get(r.Context(), id)
		switch {
		case errors.Is(err, runs.ErrNotFound):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no run " + strconv.Quote(id)})
			return
		case err != nil:
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			return
		}
		progress, err := store.Events(r.Context(), id, "", 1000)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"run": run, "progress": progress})
	})
	return mux
}
