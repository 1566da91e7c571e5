package agent

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agent-smith/agent-smith/sandbox"
)

// Limits of a run step's output. The capture cap bounds the result; the
// batch limits and the streaming budget bound what goes to a watching
// caller, so a command printing gigabytes neither floods the orchestrator
// nor slows the agent down.
const (
	defaultOutputCap = 1 << 20
	batchLines       = 512
	batchBytes       = 16 << 10
	batchEvery       = 100 * time.Millisecond
	lineMax          = 4 << 10
	streamBudget     = 16 << 20
)

// capture keeps a stream's first and last cap/2 bytes and counts the rest.
type capture struct {
	half  int
	head  []byte
	ring  []byte
	pos   int // oldest byte of the ring once it is full
	total int64
}

func newCapture(cap int) *capture {
	return &capture{half: cap / 2, ring: make([]byte, 0, cap/2)}
}

func (c *capture) write(p []byte) {
	c.total += int64(len(p))
	if n := min(c.half-len(c.head), len(p)); n > 0 {
		c.head = append(c.head, p[:n]...)
		p = p[n:]
	}
	if len(p) == 0 {
		return
	}
	if len(c.ring) < c.half { // still filling
		n := min(c.half-len(c.ring), len(p))
		c.ring = append(c.ring, p[:n]...)
		p = p[n:]
		if len(p) == 0 {
			return
		}
	}
	if len(p) >= c.half {
		copy(c.ring, p[len(p)-c.half:])
		c.pos = 0
		return
	}
	if n := copy(c.ring[c.pos:], p); n < len(p) {
		c.pos = copy(c.ring, p[n:])
	} else {
		c.pos = (c.pos + n) % c.half
	}
}

func (c *capture) truncated() bool { return c.total > int64(len(c.head)+len(c.ring)) }

// String is the captured text; past the cap the middle is replaced by a
// line saying how much was left out.
func (c *capture) String() string {
	var b strings.Builder
	b.Write(c.head)
	if c.truncated() {
		fmt.Fprintf(&b, "\n[… %d bytes omitted …]\n", c.total-int64(len(c.head)+len(c.ring)))
	}
	b.Write(c.ring[c.pos:])
	b.Write(c.ring[:c.pos])
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// sink is a run step's stdout or stderr: every byte goes to the capture,
// complete lines go to the batcher (of a watched step) while the step's
// budget lasts.
type sink struct {
	kind    sandbox.EventKind
	capture *capture
	batch   *batcher
	partial []byte
}

func (s *sink) Write(p []byte) (int, error) {
	s.capture.write(p)
	if s.batch == nil {
		return len(p), nil
	}
	rest := p
	for len(rest) > 0 {
		if s.batch.exhausted.Load() {
			// Nothing more is streamed: count lines without handling them.
			s.batch.dropped.Add(int64(bytes.Count(rest, []byte{'\n'})))
			return len(p), nil
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if room := lineMax - len(s.partial); room > 0 {
				s.partial = append(s.partial, rest[:min(room, len(rest))]...)
			}
			break
		}
		line := rest[:i]
		if len(s.partial) > 0 {
			line = append(s.partial, line[:min(len(line), max(lineMax-len(s.partial), 0))]...)
		}
		s.batch.add(s.kind, line)
		s.partial = s.partial[:0]
		rest = rest[i+1:]
	}
	return len(p), nil
}

// finish hands over a last line without a newline.
func (s *sink) finish() {
	if s.batch != nil && len(s.partial) > 0 {
		s.batch.add(s.kind, s.partial)
		s.partial = nil
	}
}

// batcher turns output lines into events: one event per stream switch,
// batchLines lines, batchBytes bytes or batchEvery, whichever comes first.
type batcher struct {
	dropped   atomic.Int64
	exhausted atomic.Bool // the streaming budget is spent

	mu     sync.Mutex
	stepID string
	events events
	kind   sandbox.EventKind
	lines  []string
	bytes  int
	budget int
	stop   chan struct{}
	done   chan struct{}
}

func startBatcher(stepID string, ev events) *batcher {
	b := &batcher{stepID: stepID, events: ev, budget: streamBudget, stop: make(chan struct{}), done: make(chan struct{})}
	go b.tick()
	return b
}

func (b *batcher) tick() {
	defer close(b.done)
	t := time.NewTicker(batchEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.mu.Lock()
			b.flushLocked()
			b.mu.Unlock()
		case <-b.stop:
			return
		}
	}
}

func (b *batcher) add(kind sandbox.EventKind, line []byte) {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > lineMax {
		line = line[:lineMax]
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.budget <= 0 {
		b.dropped.Add(1)
		return
	}
	b.budget -= len(line) + 1
	if kind != b.kind {
		b.flushLocked()
		b.kind = kind
	}
	b.lines = append(b.lines, string(line))
	b.bytes += len(line)
	if b.budget <= 0 {
		b.exhausted.Store(true)
		b.lines = append(b.lines, fmt.Sprintf("[agent-smith: streaming stopped after %d bytes of output; the result keeps the captured output]", streamBudget))
	}
	if len(b.lines) >= batchLines || b.bytes >= batchBytes || b.budget <= 0 {
		b.flushLocked()
	}
}

func (b *batcher) flushLocked() {
	if len(b.lines) == 0 {
		return
	}
	if !b.events.publish(sandbox.StepEvent{SchemaVersion: sandbox.SchemaVersion, StepID: b.stepID, Kind: b.kind, Lines: b.lines, Timestamp: time.Now().UTC()}) {
		b.dropped.Add(int64(len(b.lines)))
	}
	b.lines, b.bytes = nil, 0
}

// close flushes what is left and returns how many lines were not streamed.
func (b *batcher) close() int64 {
	close(b.stop)
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	return b.dropped.Load()
}
