package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/sandbox/internal/redisretry"
)

// CancelAll, written to a job's cancel key, makes the agent stop whatever
// step it runs; Release uses it so the shutdown step is not queued behind a
// long command.
const CancelAll = "*"

// Lifetimes of keys nobody cleans up because their owner died; Release
// deletes them long before.
const (
	inTTL     = 24 * time.Hour
	cancelTTL = 10 * time.Minute
)

// RemoteOptions tune how a Remote waits. Zero values take the defaults.
type RemoteOptions struct {
	// Grace is added to a step's timeout to form its deadline: the agent's
	// time to kill a process group and deliver the result. Default 30s.
	Grace time.Duration
	// Poll is how often a waiting caller looks at the agent's heartbeat,
	// in whole seconds (BLPOP's unit). Default 1s.
	Poll time.Duration
	// DeadAfter is how long the heartbeat must stay missing before the
	// agent counts as gone; it rides out a Redis restart that lost the key.
	// Default 2s.
	DeadAfter time.Duration
	// ShutdownWait bounds how long Release waits for the agent to
	// acknowledge the shutdown step. Default 10s.
	ShutdownWait time.Duration
}

func (o RemoteOptions) withDefaults() RemoteOptions {
	if o.Grace <= 0 {
		o.Grace = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.DeadAfter <= 0 {
		o.DeadAfter = 2 * time.Second
	}
	if o.ShutdownWait <= 0 {
		o.ShutdownWait = 10 * time.Second
	}
	return o
}

// Remote is a Sandbox whose agent is reached through Redis: the sandbox of
// every backend.
type Remote struct {
	rdb  redis.UniversalClient
	job  string
	keys Keys
	opts RemoteOptions

	mu        sync.Mutex
	released  bool
	abandoned []string // result keys of steps whose caller stopped waiting
}

var _ Sandbox = (*Remote)(nil)

// NewRemote returns the Sandbox of job, whose agent uses prefix ("" means
// DefaultPrefix).
//
// A waiting Run holds one connection of rdb in a blocking pop (two while it
// streams events), for up to Poll at a time: size rdb's pool for the steps
// that wait at once, or give sandboxes a client of their own, so that they
// cannot starve the rest of the orchestrator.
func NewRemote(rdb redis.UniversalClient, prefix, jobID string, opts RemoteOptions) (*Remote, error) {
	if err := ValidateJobID(jobID); err != nil {
		return nil, err
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Remote{rdb: rdb, job: jobID, keys: KeysFor(prefix, jobID), opts: opts.withDefaults()}, nil
}

// JobID implements Sandbox.
func (r *Remote) JobID() string { return r.job }

// Alive reports whether the agent's heartbeat is present.
func (r *Remote) Alive(ctx context.Context) (bool, error) {
	n, err := r.rdb.Exists(ctx, r.keys.Heartbeat).Result()
	if err != nil {
		return false, fmt.Errorf("read heartbeat of job %s: %w", r.job, err)
	}
	return n == 1, nil
}

// Run implements Sandbox.
func (r *Remote) Run(ctx context.Context, step Step, onEvent func(StepEvent)) (StepResult, error) {
	if r.isReleased() {
		return StepResult{}, fmt.Errorf("job %s: %w", r.job, ErrReleased)
	}
	step.SchemaVersion = SchemaVersion
	if step.StepID == "" {
		step.StepID = newStepID()
	}
	if step.TimeoutSeconds == 0 {
		step.TimeoutSeconds = int(DefaultTimeout / time.Second)
	}
	if err := step.Validate(); err != nil {
		return StepResult{}, fmt.Errorf("job %s: invalid %s step: %w", r.job, step.Kind, err)
	}
	ctx = logr.NewContext(ctx, logr.FromContextOrDiscard(ctx).WithValues("job", r.job, "step", step.StepID))
	deadline := time.Now().Add(step.Timeout() + r.opts.Grace)
	watch := onEvent != nil && step.Kind == KindRun
	from, err := r.send(ctx, step, watch)
	if err != nil {
		return StepResult{}, err
	}

	// Events are handed over under gate, so that none is after Run returned.
	var gate sync.Mutex
	stopped := false
	deliver := func(ev StepEvent) {
		gate.Lock()
		defer gate.Unlock()
		if !stopped {
			onEvent(ev)
		}
	}
	var eventsDone chan struct{}
	resultIn := make(chan struct{})
	if watch {
		eventsDone = make(chan struct{})
		go r.forwardEvents(ctx, step.StepID, from, deliver, resultIn, eventsDone)
	}
	type outcome struct {
		res StepResult
		err error
	}
	// await runs aside so that a cancelled caller returns at once, not
	// when the blocking pop in flight times out.
	awaited := make(chan outcome, 1)
	go func() {
		res, err := r.await(ctx, step, deadline)
		awaited <- outcome{res, err}
	}()
	var o outcome
	select {
	case o = <-awaited:
		close(resultIn)
		if eventsDone != nil {
			<-eventsDone // the rest of the step's output, already in the stream
		}
	case <-ctx.Done():
		o.err = fmt.Errorf("%s step %s on job %s: %w", step.Kind, step.StepID, r.job, ctx.Err())
	}
	gate.Lock()
	stopped = true
	gate.Unlock()
	if o.err != nil {
		r.abandon(ctx, step.StepID)
	}
	return o.res, o.err
}

// send pushes the step. When its events are watched it also returns the
// events stream's last id, read in the same round trip: it is older than
// any event of the step, as the agent cannot see the step before the push.
func (r *Remote) send(ctx context.Context, step Step, watch bool) (string, error) {
	data, err := json.Marshal(step)
	if err != nil {
		return "", fmt.Errorf("encode step %s: %w", step.StepID, err)
	}
	pipe := r.rdb.Pipeline()
	var last *redis.XMessageSliceCmd
	if watch {
		last = pipe.XRevRangeN(ctx, r.keys.Events, "+", "-", 1)
	}
	pipe.LPush(ctx, r.keys.In, data)
	pipe.Expire(ctx, r.keys.In, inTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return "", fmt.Errorf("send %s step %s to job %s: %w", step.Kind, step.StepID, r.job, err)
	}
	if watch && len(last.Val()) == 1 {
		return last.Val()[0].ID, nil
	}
	return "0-0", nil
}

// await blocks on the step's own result key until the result, the
// deadline, the end of ctx or the agent's death.
func (r *Remote) await(ctx context.Context, step Step, deadline time.Time) (StepResult, error) {
	key := r.keys.Result(step.StepID)
	var missingSince time.Time
	retry := redisretry.Policy(time.Second)
	for {
		if err := ctx.Err(); err != nil {
			return StepResult{}, fmt.Errorf("%s step %s on job %s: %w", step.Kind, step.StepID, r.job, err)
		}
		if r.isReleased() {
			return StepResult{}, fmt.Errorf("%s step %s: job %s: %w", step.Kind, step.StepID, r.job, ErrReleased)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return StepResult{}, fmt.Errorf("%s step %s on job %s after %s: %w", step.Kind, step.StepID, r.job, step.Timeout()+r.opts.Grace, ErrNoResult)
		}
		// BLPOP counts whole seconds.
		wait := max(min(r.opts.Poll, left).Round(time.Second), time.Second)
		vals, err := r.rdb.BLPop(ctx, wait, key).Result()
		switch {
		case err == nil:
			var res StepResult
			if err := json.Unmarshal([]byte(vals[1]), &res); err != nil {
				return StepResult{}, fmt.Errorf("decode result of step %s on job %s: %w", step.StepID, r.job, err)
			}
			return res, nil
		case errors.Is(err, redis.Nil):
			retry.Reset()
		case ctx.Err() != nil:
			continue
		default:
			// Redis is away (restart, failover): the agent keeps its result
			// until it can push it, so wait and ask again.
			logr.FromContextOrDiscard(ctx).V(1).Info("waiting for result: redis error", "err", err.Error())
			if !redisretry.Pause(ctx, retry) {
				continue
			}
		}
		alive, err := r.Alive(ctx)
		switch {
		case err != nil:
			// Unknown is not dead: only an absent key counts.
		case alive:
			missingSince = time.Time{}
		case missingSince.IsZero():
			missingSince = time.Now()
		case time.Since(missingSince) >= r.opts.DeadAfter:
			return StepResult{}, fmt.Errorf("%s step %s on job %s: %w", step.Kind, step.StepID, r.job, ErrAgentGone)
		}
	}
}

// forwardEvents hands the step's events to onEvent until its completed
// event, or, once the result is in, until the stream has nothing more.
func (r *Remote) forwardEvents(ctx context.Context, stepID, from string, onEvent func(StepEvent), resultIn <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	retry := redisretry.Policy(time.Second)
	for {
		finished := isClosed(resultIn)
		block := r.opts.Poll
		if finished {
			block = -1 // no BLOCK: one last look at what is there
		}
		streams, err := r.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{r.keys.Events, from}, Count: 1000, Block: block}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if finished || ctx.Err() != nil {
				return
			}
			logr.FromContextOrDiscard(ctx).V(1).Info("reading events: redis error", "err", err.Error())
			redisretry.Pause(ctx, retry)
			continue
		}
		retry.Reset()
		got := 0
		for _, s := range streams {
			for _, m := range s.Messages {
				got++
				from = m.ID
				data, _ := m.Values["data"].(string)
				var ev StepEvent
				if json.Unmarshal([]byte(data), &ev) != nil || ev.StepID != stepID {
					continue
				}
				onEvent(ev)
				if ev.Kind == EventCompleted {
					r.trimBefore(ctx, from)
					return
				}
			}
		}
		if finished && got == 0 {
			return
		}
	}
}

// trimBefore drops the events of earlier steps once a step's own were
// read: the stream holds about one step's output, not a job's history.
func (r *Remote) trimBefore(ctx context.Context, id string) {
	if err := r.rdb.XTrimMinID(ctx, r.keys.Events, id).Err(); err != nil {
		logr.FromContextOrDiscard(ctx).V(1).Info("events not trimmed", "err", err.Error())
	}
}

// abandon asks the agent to stop a step nobody waits for anymore and
// remembers its result key for Release.
func (r *Remote) abandon(ctx context.Context, stepID string) {
	r.mu.Lock()
	released := r.released
	r.abandoned = append(r.abandoned, r.keys.Result(stepID))
	r.mu.Unlock()
	if released {
		return // Release cancelled everything and deletes the keys
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := r.rdb.Set(ctx, r.keys.Cancel, stepID, cancelTTL).Err(); err != nil {
		logr.FromContextOrDiscard(ctx).V(1).Info("could not ask the agent to cancel the step", "err", err.Error())
	}
}

// Release stops the agent (the running step is cancelled, then a shutdown
// step is acknowledged or ShutdownWait passes) and deletes every key of the
// job. Runs in flight fail with ErrReleased. Calling it again only deletes
// the keys again.
func (r *Remote) Release(ctx context.Context) error {
	r.mu.Lock()
	first := !r.released
	r.released = true
	r.mu.Unlock()
	if first {
		if err := r.shutdown(ctx); err != nil {
			logr.FromContextOrDiscard(ctx).V(1).Info("sandbox agent did not acknowledge shutdown", "job", r.job, "err", err.Error())
		}
	}
	r.mu.Lock()
	keys := append([]string{r.keys.In, r.keys.Events, r.keys.Heartbeat, r.keys.Cancel}, r.abandoned...)
	r.mu.Unlock()
	if err := r.rdb.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("delete keys of job %s: %w", r.job, err)
	}
	return nil
}

func (r *Remote) shutdown(ctx context.Context) error {
	alive, err := r.Alive(ctx)
	if err != nil || !alive {
		return err
	}
	step := Step{SchemaVersion: SchemaVersion, StepID: newStepID(), Kind: KindShutdown}
	data, err := json.Marshal(step)
	if err != nil {
		return err
	}
	key := r.keys.Result(step.StepID)
	r.mu.Lock()
	r.abandoned = append(r.abandoned, key)
	r.mu.Unlock()
	pipe := r.rdb.Pipeline()
	pipe.Set(ctx, r.keys.Cancel, CancelAll, cancelTTL)
	pipe.LPush(ctx, r.keys.In, data)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("send shutdown: %w", err)
	}
	return r.rdb.BLPop(ctx, r.opts.ShutdownWait, key).Err()
}

func (r *Remote) isReleased() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.released
}

func newStepID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
