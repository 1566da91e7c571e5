package console

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/runs"
)

// Store is the part of the run store the console reads and steers.
type Store interface {
	Get(ctx context.Context, id string) (runs.Run, error)
	Query(ctx context.Context, f runs.Filter) (runs.Page, error)
	Events(ctx context.Context, id, after string, limit int64) ([]runs.Entry, error)
	Follow(ctx context.Context, id, after string, fn func(runs.Entry) error) (runs.Run, error)
	LastEventID(ctx context.Context, id string) (string, error)
	Cancel(ctx context.Context, id, by, reason string) (runs.Run, error)
	Restart(ctx context.Context, id, by string) (runs.Run, error)
}

// Console serves the run API and the web page.
type Console struct {
	store  Store
	tokens *Tokens
	log    logr.Logger
	hub    *hub
	page   *page
	// now is the clock of sessions; tests move it.
	now func() time.Time
}

// New returns the console over store, accepting tokens.
func New(store Store, tokens *Tokens, log logr.Logger) *Console {
	log = log.WithName("console")
	return &Console{store: store, tokens: tokens, log: log, hub: newHub(store, log),
		page: newPage(), now: time.Now}
}

// Handler serves the API under /api/, the page everywhere else. Requests
// that change something and come from another origin (a browser sending
// the session cookie from someone else's page) are refused.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	c.apiRoutes(mux)
	c.pageRoutes(mux)
	return http.NewCrossOriginProtection().Handler(mux)
}

// apiError is every error body of the API.
type apiError struct {
	Error string `json:"error"`
	// State is the run's state when it is why the request was refused.
	State runs.State `json:"state,omitempty"`
	// States lists the valid states when a state was not one.
	States []runs.State `json:"states,omitempty"`
	// ActiveRun is the ticket's unfinished run that refused a retry.
	ActiveRun string `json:"activeRun,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}
