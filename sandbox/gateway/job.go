package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/sandbox"
)

// Job is one sandbox as the pipeline sees it: the steps of its agent
// (Run) and of its git gate (Gate), brokered in memory.
type Job struct {
	g     *Gateway
	id    string
	agent *lane
	gate  *lane
	// done is closed once the job is released.
	done chan struct{}

	// Guarded by g.mu, as the gateway's map is.
	opened   bool
	lastUsed time.Time

	mu        sync.Mutex // guards the lanes, their calls and the flags below
	releasing bool
	released  bool
}

var _ sandbox.Sandbox = (*Job)(nil)

func newJob(g *Gateway, id string) *Job {
	return &Job{g: g, id: id, agent: newLane(sandbox.RoleAgent), gate: newLane(sandbox.RoleGate),
		done: make(chan struct{}), lastUsed: time.Now()}
}

// lane is one role of a job: the steps waiting for it, the steps it took
// and has not answered, and its polls.
type lane struct {
	role    string
	queue   []*call
	pending map[string]*call // by step id: queued or taken, not answered
	// wake is closed and replaced whenever a poll may have something new
	// to say.
	wake     chan struct{}
	polls    int
	uploads  int
	lastSeen time.Time
	// cancel is the step the role must stop, or sandbox.CancelAll.
	cancel string
}

func newLane(role string) *lane {
	return &lane{role: role, pending: map[string]*call{}, wake: make(chan struct{})}
}

func (ln *lane) notify() {
	close(ln.wake)
	ln.wake = make(chan struct{})
}

// alive: a poll is open, or the last one ended less than deadAfter ago.
func (ln *lane) alive(now time.Time, deadAfter time.Duration) bool {
	return ln.polls > 0 || (!ln.lastSeen.IsZero() && now.Sub(ln.lastSeen) < deadAfter)
}

// call is one step sent, waiting for its answer.
type call struct {
	step  sandbox.Step
	taken bool
	// answer gets the result, or why there will be none; it is sent once,
	// by whoever removes the call from its lane's pending.
	answer chan outcome
	// events carries batches of a streamed step to its caller; nil
	// otherwise. Sends never block: a full channel drops the batch.
	events   chan []sandbox.StepEvent
	closed   bool // events is closed
	streamed int64
	// dropped counts the lines of batches the watcher was too slow for.
	dropped atomic.Int64
}

type outcome struct {
	res sandbox.StepResult
	err error
}

// eventBuffer is how many batches of a step's events wait for a slow
// watcher before batches are dropped.
const eventBuffer = 64

// JobID implements sandbox.Sandbox.
func (j *Job) JobID() string { return j.id }

// Alive reports whether role (sandbox.RoleAgent or RoleGate) is polling.
func (j *Job) Alive(role string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lane(role).alive(time.Now(), j.g.opts.DeadAfter)
}

func (j *Job) lane(role string) *lane {
	if role == sandbox.RoleGate {
		return j.gate
	}
	return j.agent
}

// Run implements sandbox.Sandbox: it sends step to the agent.
func (j *Job) Run(ctx context.Context, step sandbox.Step, onEvent func(sandbox.StepEvent)) (sandbox.StepResult, error) {
	return j.run(ctx, j.agent, step, onEvent)
}

func (j *Job) run(ctx context.Context, ln *lane, step sandbox.Step, onEvent func(sandbox.StepEvent)) (sandbox.StepResult, error) {
	c, err := j.send(ln, step, onEvent != nil)
	if err != nil {
		return sandbox.StepResult{}, err
	}
	step = c.step
	log := logr.FromContextOrDiscard(ctx).WithValues("job", j.id, "step", step.StepID)
	forwarded := make(chan struct{})
	var gate sync.Mutex // events are handed over under it, so none is after Run returns
	stopped := false
	if c.events != nil {
		go func() {
			defer close(forwarded)
			forward(c, onEvent, &gate, &stopped)
		}()
	} else {
		close(forwarded)
	}
	o := j.await(ctx, ln, c)
	if o.err != nil {
		gate.Lock()
		stopped = true
		gate.Unlock()
		j.abandon(ln, c)
		log.V(1).Info("step not answered", "kind", step.Kind, "err", o.err.Error())
	}
	j.mu.Lock()
	if c.events != nil && !c.closed {
		c.closed = true
		close(c.events) // the forwarder passes on what came before the result
	}
	j.mu.Unlock()
	<-forwarded
	return o.res, o.err
}

// send queues step on ln.
func (j *Job) send(ln *lane, step sandbox.Step, watched bool) (*call, error) {
	step.SchemaVersion = sandbox.SchemaVersion
	if step.StepID == "" {
		step.StepID = newStepID()
	}
	if step.TimeoutSeconds == 0 {
		step.TimeoutSeconds = int(sandbox.DefaultTimeout / time.Second)
	}
	step.Stream = watched && step.Kind == sandbox.KindRun
	if err := step.Validate(); err != nil {
		return nil, fmt.Errorf("job %s: invalid %s step: %w", j.id, step.Kind, err)
	}
	gateStep := sandbox.GateKind(step.Kind)
	switch {
	case ln.role == sandbox.RoleAgent && (gateStep || step.Credential != nil):
		return nil, fmt.Errorf("job %s: a %s step with a credential is the gate's, never the agent's", j.id, step.Kind)
	case ln.role == sandbox.RoleGate && !gateStep && step.Kind != sandbox.KindShutdown:
		return nil, fmt.Errorf("job %s: the gate does not run %s steps", j.id, step.Kind)
	}
	c := &call{step: step, answer: make(chan outcome, 1)}
	if step.Stream {
		c.events = make(chan []sandbox.StepEvent, eventBuffer)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.releasing && step.Kind != sandbox.KindShutdown {
		return nil, fmt.Errorf("job %s: %w", j.id, sandbox.ErrReleased)
	}
	ln.queue = append(ln.queue, c)
	ln.pending[step.StepID] = c
	ln.notify()
	return c, nil
}

// await waits for c's answer, its deadline, the end of ctx, the death of
// its role or the release of the job.
func (j *Job) await(ctx context.Context, ln *lane, c *call) outcome {
	step := c.step
	limit := step.Timeout() + j.g.opts.Grace
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	check := time.NewTicker(max(j.g.opts.DeadAfter/4, 10*time.Millisecond))
	defer check.Stop()
	what := fmt.Sprintf("%s step %s on job %s", step.Kind, step.StepID, j.id)
	for {
		select {
		case o := <-c.answer:
			return o
		case <-ctx.Done():
			return outcome{err: fmt.Errorf("%s: %w", what, ctx.Err())}
		case <-deadline.C:
			return outcome{err: fmt.Errorf("%s after %s: %w", what, limit, sandbox.ErrNoResult)}
		case <-j.done:
			return outcome{err: fmt.Errorf("%s: %w", what, sandbox.ErrReleased)}
		case now := <-check.C:
			j.mu.Lock()
			gone := !ln.alive(now, j.g.opts.DeadAfter)
			j.mu.Unlock()
			if gone {
				return outcome{err: fmt.Errorf("%s: %w", what, sandbox.ErrAgentGone)}
			}
		}
	}
}

// forward hands c's event batches to onEvent until the channel closes.
func forward(c *call, onEvent func(sandbox.StepEvent), gate *sync.Mutex, stopped *bool) {
	for batch := range c.events {
		gate.Lock()
		if !*stopped {
			for _, ev := range batch {
				if ev.Kind == sandbox.EventCompleted {
					ev.DroppedLines += c.dropped.Load()
				}
				onEvent(ev)
			}
		}
		gate.Unlock()
	}
}

// abandon forgets a step nobody waits for anymore: one still queued is
// dropped, one taken is cancelled in the sandbox.
func (j *Job) abandon(ln *lane, c *call) {
	j.mu.Lock()
	defer j.mu.Unlock()
	id := c.step.StepID
	if _, ok := ln.pending[id]; !ok {
		return
	}
	delete(ln.pending, id)
	if !c.taken {
		ln.queue = slices.DeleteFunc(ln.queue, func(q *call) bool { return q == c })
		return
	}
	if ln.cancel != sandbox.CancelAll {
		ln.cancel = id
	}
	ln.notify()
}

// Release stops the agent and the gate: the running steps are cancelled,
// then each is sent a shutdown step, acknowledged or not within
// ShutdownWait. From then on every call of the job fails with
// sandbox.ErrReleased and every request of its sandbox is answered 410.
// Calling it again waits for the first call to finish.
func (j *Job) Release(ctx context.Context) error {
	j.mu.Lock()
	if j.releasing {
		j.mu.Unlock()
		select {
		case <-j.done:
		case <-ctx.Done():
		}
		return nil
	}
	j.releasing = true
	var acks []*call
	now := time.Now()
	for _, ln := range []*lane{j.agent, j.gate} {
		ln.cancel = sandbox.CancelAll
		for _, q := range ln.queue {
			delete(ln.pending, q.step.StepID)
		}
		ln.queue = nil
		if ln.alive(now, j.g.opts.DeadAfter) {
			c := &call{step: sandbox.Step{SchemaVersion: sandbox.SchemaVersion, StepID: newStepID(), Kind: sandbox.KindShutdown},
				answer: make(chan outcome, 1)}
			ln.queue = append(ln.queue, c)
			ln.pending[c.step.StepID] = c
			acks = append(acks, c)
		}
		ln.notify()
	}
	j.mu.Unlock()

	wait := time.NewTimer(j.g.opts.ShutdownWait)
	defer wait.Stop()
	var err error
	for _, c := range acks {
		select {
		case <-c.answer:
		case <-wait.C:
			err = errors.New("shutdown not acknowledged in time")
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
	}
	if err != nil {
		logr.FromContextOrDiscard(ctx).V(1).Info("sandbox did not acknowledge shutdown", "job", j.id, "err", err.Error())
	}

	j.mu.Lock()
	j.released = true
	close(j.done)
	for _, ln := range []*lane{j.agent, j.gate} {
		clear(ln.pending)
		ln.queue = nil
		ln.notify()
	}
	j.mu.Unlock()
	j.g.forget(j.id)
	return nil
}

func newStepID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
