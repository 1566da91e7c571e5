package gateway

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/sandbox"
)

// Per job and role: open polls (an honest one has one, two while a step
// runs and the next poll begins) and uploads in flight (it sends one at a
// time).
const (
	maxPolls   = 2
	maxUploads = 2
	// maxPollBytes bounds the body of a poll.
	maxPollBytes = 1 << 10
)

// Handler is the API's routes.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/{role}/{job}/next", g.next)
	mux.HandleFunc("POST /v1/{role}/{job}/results/{step}", g.result)
	mux.HandleFunc("POST /v1/{role}/{job}/events/{step}", g.events)
	return mux
}

// authorize checks the request's token for its role and job and returns
// the job and the role's lane; it has answered the request when ok is
// false.
func (g *Gateway) authorize(w http.ResponseWriter, r *http.Request) (j *Job, ln *lane, ok bool) {
	role, id := r.PathValue("role"), r.PathValue("job")
	if (role != sandbox.RoleAgent && role != sandbox.RoleGate) || sandbox.ValidateJobID(id) != nil {
		http.NotFound(w, r)
		return nil, nil, false
	}
	token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found || !hmac.Equal([]byte(token), []byte(g.token(role, id))) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="agent-smith sandbox API"`)
		http.Error(w, "no valid token for this job and role", http.StatusUnauthorized)
		return nil, nil, false
	}
	if j = g.job(id); j == nil {
		http.Error(w, "released", http.StatusGone)
		return nil, nil, false
	}
	return j, j.lane(role), true
}

// next serves a poll: a step, a cancel, or nothing within PollHold.
func (g *Gateway) next(w http.ResponseWriter, r *http.Request) {
	j, ln, ok := g.authorize(w, r)
	if !ok {
		return
	}
	var req sandbox.NextRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPollBytes)).Decode(&req); err != nil {
		http.Error(w, "poll: "+err.Error(), http.StatusBadRequest)
		return
	}
	if req.Running != "" && sandbox.ValidateStepID(req.Running) != nil {
		http.Error(w, "poll: invalid running step id", http.StatusBadRequest)
		return
	}
	j.mu.Lock()
	if ln.polls >= maxPolls {
		j.mu.Unlock()
		http.Error(w, "too many polls open for this job", http.StatusTooManyRequests)
		return
	}
	ln.polls++
	ln.lastSeen = time.Now()
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		ln.polls--
		ln.lastSeen = time.Now()
		j.mu.Unlock()
	}()

	hold := time.NewTimer(g.opts.PollHold)
	defer hold.Stop()
	for {
		j.mu.Lock()
		resp, status := j.answer(ln, req.Running)
		wake := ln.wake
		j.mu.Unlock()
		if status != 0 {
			reply(w, status, resp)
			return
		}
		select {
		case <-wake:
		case <-hold.C:
			w.WriteHeader(http.StatusNoContent)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// answer decides what a poll of ln gets now: a status, or 0 to wait. j.mu
// is held.
func (j *Job) answer(ln *lane, running string) (*sandbox.NextResponse, int) {
	if j.released {
		return nil, http.StatusGone
	}
	if running != "" {
		if ln.cancel == running || ln.cancel == sandbox.CancelAll {
			return &sandbox.NextResponse{Cancel: ln.cancel}, http.StatusOK
		}
		if c, ok := ln.pending[running]; !ok || !c.taken {
			return nil, http.StatusNoContent // answered, or never taken: nothing to watch
		}
		return nil, 0
	}
	// A poll for a new step: whatever the role took and did not answer was
	// lost (the process restarted, or a response never reached it).
	for id, c := range ln.pending {
		if c.taken {
			delete(ln.pending, id)
			c.answer <- outcome{err: errors.New("the step was taken and not answered: " + ln.role + " restarted (" + sandbox.ErrAgentGone.Error() + ")")}
		}
	}
	if len(ln.queue) == 0 {
		return nil, 0
	}
	c := ln.queue[0]
	ln.queue = ln.queue[1:]
	c.taken = true
	if ln.cancel != sandbox.CancelAll {
		ln.cancel = ""
	}
	return &sandbox.NextResponse{Step: &c.step}, http.StatusOK
}

// result takes the answer to a step, refused above MaxResultBytes before
// anything is decoded.
func (g *Gateway) result(w http.ResponseWriter, r *http.Request) {
	j, ln, ok := g.authorize(w, r)
	if !ok || !j.upload(w, ln) {
		return
	}
	defer j.uploaded(ln)
	data, ok := readBounded(w, r, sandbox.MaxResultBytes)
	if !ok {
		return
	}
	var res sandbox.StepResult
	if err := json.Unmarshal(data, &res); err != nil {
		http.Error(w, "result: "+err.Error(), http.StatusBadRequest)
		return
	}
	id := r.PathValue("step")
	if res.StepID != id {
		http.Error(w, "result: the body is of another step", http.StatusBadRequest)
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.released {
		http.Error(w, "released", http.StatusGone)
		return
	}
	c, found := ln.pending[id]
	if !found || !c.taken {
		http.Error(w, "no such step waits for a result", http.StatusConflict)
		return
	}
	delete(ln.pending, id)
	c.answer <- outcome{res: res}
	ln.notify() // the step's own poll has nothing more to watch
	w.WriteHeader(http.StatusNoContent)
}

// events takes live events of a streamed step, within the step's budget.
func (g *Gateway) events(w http.ResponseWriter, r *http.Request) {
	j, ln, ok := g.authorize(w, r)
	if !ok || !j.upload(w, ln) {
		return
	}
	defer j.uploaded(ln)
	data, ok := readBounded(w, r, sandbox.MaxEventRequestBytes)
	if !ok {
		return
	}
	var batch []sandbox.StepEvent
	if err := json.Unmarshal(data, &batch); err != nil {
		http.Error(w, "events: "+err.Error(), http.StatusBadRequest)
		return
	}
	id := r.PathValue("step")
	j.mu.Lock()
	defer j.mu.Unlock()
	c, found := ln.pending[id]
	if !found || !c.taken || c.events == nil || c.closed {
		http.Error(w, "no watched step of that id runs", http.StatusConflict)
		return
	}
	c.streamed += int64(len(data))
	if c.streamed > sandbox.StepEventBudget {
		http.Error(w, "the step's event budget is spent", http.StatusTooManyRequests)
		return
	}
	batch = keepStep(batch, id)
	select {
	case c.events <- batch:
	default:
		for _, ev := range batch {
			c.dropped.Add(int64(len(ev.Lines)))
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// keepStep drops events that claim another step.
func keepStep(batch []sandbox.StepEvent, id string) []sandbox.StepEvent {
	out := batch[:0]
	for _, ev := range batch {
		if ev.StepID == id {
			out = append(out, ev)
		}
	}
	return out
}

// upload counts an upload of ln in, or refuses it.
func (j *Job) upload(w http.ResponseWriter, ln *lane) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if ln.uploads >= maxUploads {
		http.Error(w, "too many uploads in flight for this job", http.StatusTooManyRequests)
		return false
	}
	// An uploading role is alive, if busy: a flood of output can keep
	// its next poll waiting.
	ln.lastSeen = time.Now()
	ln.uploads++
	return true
}

func (j *Job) uploaded(ln *lane) {
	j.mu.Lock()
	ln.uploads--
	j.mu.Unlock()
}

// readBounded reads a body of at most limit bytes; above it the request
// is answered 413 and nothing is kept.
func readBounded(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		http.Error(w, "over the size limit", http.StatusRequestEntityTooLarge)
		return nil, false
	case err != nil:
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return data, true
}

func reply(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
