package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/agent-smith/agent-smith/runs"
)

// Bounds of the events page.
const (
	defaultEventsPage = 500
	maxEventsPage     = 5000
)

func (c *Console) apiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/runs", c.apiAuth(false, c.listRuns))
	mux.HandleFunc("GET /api/runs/{id}", c.apiAuth(false, c.getRun))
	mux.HandleFunc("GET /api/runs/{id}/events", c.apiAuth(false, c.events))
	mux.HandleFunc("POST /api/runs/{id}/cancel", c.apiAuth(true, c.cancel))
	mux.HandleFunc("POST /api/runs/{id}/retry", c.apiAuth(true, c.retry))
	// The same paths with another method, and every other path under
	// /api/, answer in JSON too.
	for _, p := range []string{"/api/runs", "/api/runs/{id}", "/api/runs/{id}/events", "/api/runs/{id}/cancel", "/api/runs/{id}/retry"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed", r.Method, r.URL.Path))
		})
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no API at %s (see the README's run API section)", r.URL.Path))
	})
}

// apiAuth lets a request through to h when it carries a known token (an
// admin one when admin is set).
func (c *Console) apiAuth(admin bool, h func(http.ResponseWriter, *http.Request, Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.tokens.Len() == 0 {
			writeError(w, http.StatusUnauthorized, "the run API takes no requests: no tokens are configured (set "+TokensEnv+")")
			return
		}
		id, ok, _ := c.tokens.authenticate(r, c.now())
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="agent-smith"`)
			writeError(w, http.StatusUnauthorized, "missing or unknown token: send Authorization: Bearer TOKEN")
			return
		}
		if admin && !id.Admin() {
			writeError(w, http.StatusForbidden, fmt.Sprintf("token %q is read-only: cancel and retry need an admin token", id.Name))
			return
		}
		h(w, r, id)
	}
}

// filterOf reads the list's query: state (repeated or comma separated),
// project, ticket, limit, cursor.
func filterOf(r *http.Request) (runs.Filter, *apiError) {
	q := r.URL.Query()
	f := runs.Filter{Project: q.Get("project"), Ticket: q.Get("ticket"), Cursor: q.Get("cursor")}
	for _, v := range q["state"] {
		for s := range strings.SplitSeq(v, ",") {
			if s == "" {
				continue
			}
			if !slices.Contains(runs.States, runs.State(s)) {
				return f, &apiError{Error: fmt.Sprintf("state %q is not a run state", s), States: runs.States}
			}
			f.States = append(f.States, runs.State(s))
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > runs.MaxPageSize {
			return f, &apiError{Error: fmt.Sprintf("limit %q: want a number from 1 to %d", v, runs.MaxPageSize)}
		}
		f.Limit = n
	}
	return f, nil
}

func (c *Console) listRuns(w http.ResponseWriter, r *http.Request, _ Identity) {
	f, bad := filterOf(r)
	if bad != nil {
		writeJSON(w, http.StatusBadRequest, bad)
		return
	}
	page, err := c.store.Query(r.Context(), f)
	if errors.Is(err, runs.ErrBadCursor) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		c.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (c *Console) getRun(w http.ResponseWriter, r *http.Request, _ Identity) {
	run, ok := c.run(w, r)
	if ok {
		writeJSON(w, http.StatusOK, run)
	}
}

// run reads the run the path names, answering 404 or 503 itself.
func (c *Console) run(w http.ResponseWriter, r *http.Request) (runs.Run, bool) {
	id := r.PathValue("id")
	if !runs.ValidID(id) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no run %q: run ids look like 20260101-120000-k3x9", id))
		return runs.Run{}, false
	}
	run, err := c.store.Get(r.Context(), id)
	if errors.Is(err, runs.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no run %s (never was, or its retention ended)", id))
		return runs.Run{}, false
	}
	if err != nil {
		c.storeError(w, err)
		return runs.Run{}, false
	}
	return run, true
}

// EventsPage is the JSON answer of GET /api/runs/{id}/events.
type EventsPage struct {
	Events []runs.Entry `json:"events"`
	// Next is the cursor (after=) to read what follows; the request's own
	// when nothing new came.
	Next string `json:"next,omitempty"`
	// State is the run's state when the page was read; Ended says it will
	// log nothing more.
	State runs.State `json:"state"`
	Ended bool       `json:"ended"`
}

func (c *Console) events(w http.ResponseWriter, r *http.Request, _ Identity) {
	run, ok := c.run(w, r)
	if !ok {
		return
	}
	after := r.URL.Query().Get("after")
	if after == "" {
		after = r.Header.Get("Last-Event-ID")
	}
	if after != "" && !validEntryID(after) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("after %q: want an event id such as 1767225600000-0", after))
		return
	}
	if wantsStream(r) {
		c.stream(w, r, run, after)
		return
	}
	limit := int64(defaultEventsPage)
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > maxEventsPage {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want a number from 1 to %d", v, maxEventsPage))
			return
		}
		limit = n
	}
	entries, err := c.store.Events(r.Context(), run.ID, after, limit)
	if err != nil {
		c.storeError(w, err)
		return
	}
	page := EventsPage{Events: entries, Next: after, State: run.State, Ended: run.State.Terminal()}
	if len(entries) > 0 {
		page.Next = entries[len(entries)-1].ID
	}
	// A full page has more behind it, whatever the state.
	page.Ended = page.Ended && int64(len(entries)) < limit
	writeJSON(w, http.StatusOK, page)
}

// wantsStream reports whether the client asked for Server-Sent Events.
func wantsStream(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// validEntryID reports whether s is a log entry id: MS-SEQ.
func validEntryID(s string) bool {
	ms, seq, ok := strings.Cut(s, "-")
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return ok && err1 == nil && err2 == nil
}

// cancelRequest is the optional body of POST /api/runs/{id}/cancel.
type cancelRequest struct {
	Reason string `json:"reason"`
}

func (c *Console) cancel(w http.ResponseWriter, r *http.Request, who Identity) {
	var req cancelRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("body: want {\"reason\": \"…\"} or nothing: %v", err))
		return
	}
	run, err := c.doCancel(r, who, req.Reason)
	if err != nil {
		c.steerError(w, r, err, "only an unfinished run can be cancelled")
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (c *Console) doCancel(r *http.Request, who Identity, reason string) (runs.Run, error) {
	if reason == "" {
		reason = "cancelled by " + who.Name
	}
	run, err := c.store.Cancel(r.Context(), r.PathValue("id"), who.Name, reason)
	if err == nil {
		c.log.Info("run cancelled", "run", run.ID, "by", who.Name, "reason", reason)
	}
	return run, err
}

func (c *Console) retry(w http.ResponseWriter, r *http.Request, who Identity) {
	run, err := c.store.Restart(r.Context(), r.PathValue("id"), who.Name)
	if err != nil {
		c.steerError(w, r, err, "only a failed or cancelled run can be retried")
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// steerError answers a refused cancel or retry.
func (c *Console) steerError(w http.ResponseWriter, r *http.Request, err error, rule string) {
	id := r.PathValue("id")
	var te *runs.TransitionError
	var busy *runs.TicketActiveError
	switch {
	case errors.Is(err, runs.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no run %q (never was, or its retention ended)", id))
	case errors.As(err, &te):
		writeJSON(w, http.StatusConflict, apiError{Error: fmt.Sprintf("run %s is %s: %s", id, te.From, rule), State: te.From})
	case errors.As(err, &busy):
		writeJSON(w, http.StatusConflict, apiError{Error: fmt.Sprintf("run %s cannot be retried: %v", id, busy), ActiveRun: busy.RunID})
	default:
		c.storeError(w, err)
	}
}

// storeError answers a failure of the run store (Redis unreachable).
func (c *Console) storeError(w http.ResponseWriter, err error) {
	c.log.Error(err, "run store request failed")
	writeError(w, http.StatusServiceUnavailable, "the run store did not answer: "+err.Error())
}
