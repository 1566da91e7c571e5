package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/runs"
)

const (
	// subBuffer is how many entries a follower may lag behind the log
	// before it is dropped; its client reconnects from its last entry.
	subBuffer = 1024
	// backlogBatch is the size of one read of the log a stream starts with.
	backlogBatch = 1000
	// keepAlive spaces the comments that keep an idle stream open through
	// proxies and show a vanished client.
	keepAlive = 15 * time.Second
	// writeWait bounds one write to a follower.
	writeWait = 10 * time.Second
)

// message is what a feed hands its followers: an entry, the run's end, or
// the error that ended the feed.
type message struct {
	entry runs.Entry
	// event is the entry as an SSE event, encoded once for every follower.
	event string
	end   *runs.Run
	err   error
}

type follower struct{ ch chan message }

// feed reads one run's log for every follower of the run in this process.
type feed struct {
	followers map[*follower]struct{}
	stop      context.CancelFunc
	// ready is closed once the feed knows where in the log it starts.
	ready chan struct{}
}

// hub fans each followed run's log out to its followers: one blocking
// Redis read per run and process, however many clients follow it.
type hub struct {
	store Store
	log   logr.Logger
	mu    sync.Mutex
	feeds map[string]*feed
}

func newHub(store Store, log logr.Logger) *hub {
	return &hub{store: store, log: log, feeds: map[string]*feed{}}
}

// follow subscribes to run id's new entries. Every entry appended after
// follow returns reaches the follower's channel, some earlier ones may
// too; leave ends the subscription. The channel is closed after the run's
// end, an error, or when the follower lagged too far behind.
func (h *hub) follow(ctx context.Context, id string) (*follower, func(), error) {
	h.mu.Lock()
	f := h.feeds[id]
	if f == nil {
		fctx, stop := context.WithCancel(context.Background())
		f = &feed{followers: map[*follower]struct{}{}, stop: stop, ready: make(chan struct{})}
		h.feeds[id] = f
		go h.run(fctx, id, f)
	}
	s := &follower{ch: make(chan message, subBuffer)}
	f.followers[s] = struct{}{}
	h.mu.Unlock()
	leave := func() { h.leave(id, f, s) }
	select {
	case <-f.ready:
		return s, leave, nil
	case <-ctx.Done():
		leave()
		return nil, nil, ctx.Err()
	}
}

func (h *hub) leave(id string, f *feed, s *follower) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(f.followers, s)
	if len(f.followers) == 0 && h.feeds[id] == f {
		delete(h.feeds, id)
		f.stop()
	}
}

// run reads the log from its end at the start until the run ends or
// everyone left.
func (h *hub) run(ctx context.Context, id string, f *feed) {
	start, err := h.store.LastEventID(ctx, id)
	close(f.ready)
	var run runs.Run
	if err == nil {
		run, err = h.store.Follow(ctx, id, start, func(e runs.Entry) error {
			ev, err := encodeEvent("entry", e.ID, e)
			if err != nil {
				return err
			}
			h.broadcast(f, message{entry: e, event: ev})
			return nil
		})
	}
	if ctx.Err() != nil {
		return // everyone left
	}
	if err != nil {
		h.log.Error(err, "following a run's log failed", "run", id)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	f.stop()
	if h.feeds[id] == f {
		delete(h.feeds, id)
	}
	last := message{end: &run, err: err}
	if err != nil {
		last.end = nil
	}
	for s := range f.followers {
		select {
		case s.ch <- last:
		default: // lagging: it reconnects and learns the end then
		}
		close(s.ch)
		delete(f.followers, s)
	}
}

func (h *hub) broadcast(f *feed, m message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range f.followers {
		select {
		case s.ch <- m:
		default:
			close(s.ch)
			delete(f.followers, s)
		}
	}
}

// sseWriter writes Server-Sent Events.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s sseWriter) event(name, id string, data any) error {
	ev, err := encodeEvent(name, id, data)
	if err != nil {
		return err
	}
	return s.write(ev)
}

// encodeEvent renders one event: its id (when it has one), its name, and
// its data as one line of JSON.
func encodeEvent(name, id string, data any) (string, error) {
	body, err := json.Marshal(data)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	b.WriteString("event: " + name + "\ndata: ")
	b.Write(body)
	b.WriteString("\n\n")
	return b.String(), nil
}

func (s sseWriter) write(text string) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(writeWait))
	if _, err := io.WriteString(s.w, text); err != nil {
		return err
	}
	return s.rc.Flush()
}

// stream answers GET /api/runs/{id}/events with Accept: text/event-stream:
// the log after the cursor (an "entry" event each, the entry's id as the
// event id, so a reconnecting EventSource resumes where it was), then new
// entries as they come, then an "end" event with the run as it ended, and
// the stream closes. A "stream-error" event ends a stream the server cannot go on
// with; the client reconnects.
func (c *Console) stream(w http.ResponseWriter, r *http.Request, run runs.Run, after string) {
	ctx := r.Context()
	sse := sseWriter{w, http.NewResponseController(w)}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := sse.write("retry: 2000\n\n"); err != nil {
		return
	}
	var sub *follower
	if !run.State.Terminal() {
		s, leave, err := c.hub.follow(ctx, run.ID)
		if err != nil {
			return
		}
		defer leave()
		sub = s
	}
	last, err := c.backlog(ctx, sse, run.ID, after)
	if err != nil {
		c.streamError(sse, err)
		return
	}
	if sub == nil {
		_ = sse.event("end", "", run)
		return
	}
	c.live(ctx, sse, sub, last)
}

// backlog writes the log after the cursor and returns the last id written.
func (c *Console) backlog(ctx context.Context, sse sseWriter, id, after string) (string, error) {
	for {
		entries, err := c.store.Events(ctx, id, after, backlogBatch)
		if err != nil {
			return after, err
		}
		for _, e := range entries {
			if err := sse.event("entry", e.ID, e); err != nil {
				return after, err
			}
			after = e.ID
		}
		if len(entries) < backlogBatch {
			return after, nil
		}
	}
}

// live writes what the feed brings after last until the run ends.
func (c *Console) live(ctx context.Context, sse sseWriter, sub *follower, last string) {
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case m, ok := <-sub.ch:
			switch {
			case !ok:
				return // lagged behind: the client reconnects from its last entry
			case m.end != nil:
				_ = sse.event("end", "", m.end)
				return
			case m.err != nil:
				c.streamError(sse, m.err)
				return
			case after(m.entry.ID, last):
				if sse.write(m.event) != nil {
					return
				}
				last = m.entry.ID
			}
		case <-tick.C:
			if sse.write(": keep-alive\n\n") != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

func (c *Console) streamError(sse sseWriter, err error) {
	c.log.Error(err, "streaming a run's log failed")
	_ = sse.event("stream-error", "", apiError{Error: "the run store did not answer: " + err.Error()})
}

// after reports whether log entry id a comes after b ("" is before all).
func after(a, b string) bool {
	if b == "" {
		return true
	}
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	x, _ := strconv.ParseUint(am, 10, 64)
	y, _ := strconv.ParseUint(bm, 10, 64)
	if x != y {
		return x > y
	}
	xs, _ := strconv.ParseUint(as, 10, 64)
	ys, _ := strconv.ParseUint(bs, 10, 64)
	return xs > ys
}
