package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/redisretry"
)

// Errors of Run that are not failures of the agent itself.
var (
	// ErrIdle: no step came for Options.IdleTimeout.
	ErrIdle = errors.New("idle timeout")
	// ErrUsage: the options cannot work (no job id, bad URL, no work root).
	ErrUsage = errors.New("invalid options")
)

// Options configure the agent.
type Options struct {
	RedisURL string
	JobID    string
	// Prefix of the Redis keys; default sandbox.DefaultPrefix.
	Prefix string
	// WorkRoot is the directory every path of a step is confined to;
	// default the working directory (/work in a sandbox pod).
	WorkRoot string
	// IdleTimeout ends the agent when no step came for that long; a lost
	// orchestrator must not leave sandboxes running forever. Default 15m.
	IdleTimeout time.Duration
	// HeartbeatInterval is how often the heartbeat key is refreshed; it
	// expires after three intervals. Default 1s.
	HeartbeatInterval time.Duration
	Logger            logr.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = sandbox.DefaultPrefix
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 15 * time.Minute
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = time.Second
	}
	if o.WorkRoot == "" {
		wd, err := os.Getwd()
		if err != nil {
			return o, fmt.Errorf("%w: work root: %w", ErrUsage, err)
		}
		o.WorkRoot = wd
	}
	if err := sandbox.ValidateJobID(o.JobID); err != nil {
		return o, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if o.RedisURL == "" {
		return o, fmt.Errorf("%w: no Redis URL", ErrUsage)
	}
	return o, nil
}

type agent struct {
	opts  Options
	keys  sandbox.Keys
	rdb   *redis.Client // results, heartbeat, events
	pop   *redis.Client // the blocking pop only: closed to interrupt it
	exec  *executor
	pub   *publisher
	log   logr.Logger
	seen  recentIDs
	mu    sync.Mutex
	step  string             // id of the running step
	abort context.CancelFunc // cancels the running step
}

// Run serves steps until a shutdown step (nil), the end of ctx (nil: the
// agent was told to stop), IdleTimeout (ErrIdle) or an error it cannot
// recover from. A Redis that goes away is waited for, not an error.
func Run(ctx context.Context, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	ropts, err := redis.ParseURL(opts.RedisURL)
	if err != nil {
		return fmt.Errorf("%w: redis url: %w", ErrUsage, err)
	}
	ws, err := openWorkspace(opts.WorkRoot)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	defer ws.close()
	log := opts.Logger.WithValues("job", opts.JobID)
	a := &agent{opts: opts, keys: sandbox.KeysFor(opts.Prefix, opts.JobID), rdb: redis.NewClient(ropts), log: log}
	popOpts := *ropts
	popOpts.PoolSize = 1
	a.pop = redis.NewClient(&popOpts)
	a.pub = newPublisher(a.rdb, a.keys.Events, log)
	a.exec = newExecutor(ws, a.pub)

	ctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { a.pub.loop(ctx) })
	wg.Go(func() { a.heartbeat(ctx) })
	wg.Go(func() {
		<-ctx.Done()
		_ = a.pop.Close() // unblocks a waiting BRPOP
	})
	defer func() {
		stop()
		wg.Wait()
		// Callers learn at once that nobody will answer.
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = a.rdb.Del(dctx, a.keys.Heartbeat).Err()
		cancel()
		_ = a.rdb.Close()
	}()
	log.Info("sandbox agent started", "workRoot", ws.dir, "grep", a.exec.grepEngine())
	return a.serve(ctx)
}

func (a *agent) serve(ctx context.Context) error {
	lastActive := time.Now()
	retry := redisretry.Policy(2 * time.Second)
	for {
		idleLeft := a.opts.IdleTimeout - time.Since(lastActive)
		if idleLeft <= 0 {
			a.log.Info("no step came; exiting", "idle", a.opts.IdleTimeout)
			return fmt.Errorf("%w: no step for %s", ErrIdle, a.opts.IdleTimeout)
		}
		vals, err := a.pop.BRPop(ctx, max(idleLeft, time.Second), a.keys.In).Result()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			a.log.Info("stopped")
			return nil
		case errors.Is(err, redis.Nil):
			continue
		case unrecoverable(err):
			return fmt.Errorf("take step from %s: %w", a.keys.In, err)
		case err != nil:
			a.log.V(1).Info("redis unavailable; retrying", "err", err.Error())
			redisretry.Pause(ctx, retry)
			continue
		}
		retry.Reset()
		done, err := a.handle(ctx, []byte(vals[1]))
		if done || err != nil {
			return err
		}
		lastActive = time.Now()
	}
}

// handle executes one raw step and delivers its result; done after a
// shutdown step.
func (a *agent) handle(ctx context.Context, raw []byte) (done bool, err error) {
	var step sandbox.Step
	if err := json.Unmarshal(raw, &step); err != nil {
		// Answer if the id can be read at all, so the caller is not left
		// waiting for its deadline.
		var id struct {
			StepID string `json:"stepId"`
		}
		_ = json.Unmarshal(raw, &id)
		a.log.Error(err, "undecodable step", "step", id.StepID)
		a.reply(ctx, failed(id.StepID, fmt.Errorf("undecodable step: %w", err)))
		return false, nil
	}
	log := a.log.WithValues("step", step.StepID, "kind", step.Kind)
	if err := step.Validate(); err != nil {
		log.Info("invalid step", "err", err.Error())
		a.reply(ctx, failed(step.StepID, err))
		return false, nil
	}
	if !a.seen.add(step.StepID) {
		log.Info("step delivered twice; executed once")
		return false, nil
	}
	if step.Kind == sandbox.KindShutdown {
		log.Info("shutdown")
		a.reply(ctx, sandbox.StepResult{SchemaVersion: sandbox.SchemaVersion, StepID: step.StepID})
		return true, nil
	}
	sctx, cancel := context.WithCancel(ctx)
	a.setRunning(step.StepID, cancel)
	res := a.exec.execute(sctx, step)
	a.setRunning("", nil)
	cancel()
	log.V(1).Info("step done", "exitCode", res.ExitCode, "seconds", res.DurationSeconds, "err", res.ErrorMessage)
	a.reply(ctx, res)
	return false, nil
}

func failed(stepID string, err error) sandbox.StepResult {
	return sandbox.StepResult{SchemaVersion: sandbox.SchemaVersion, StepID: stepID, ExitCode: -1, ErrorMessage: err.Error()}
}

// reply pushes a result to the step's own key, after the step's events:
// it is retried through a Redis outage, never dropped for one.
func (a *agent) reply(ctx context.Context, res sandbox.StepResult) {
	if sandbox.ValidateStepID(res.StepID) != nil {
		return // no key to answer on
	}
	data, err := json.Marshal(res)
	if err != nil {
		a.log.Error(err, "encode result", "step", res.StepID)
		return
	}
	if err := a.pub.deliver(ctx, a.keys.Result(res.StepID), data); err != nil {
		a.log.Info("stopped before the result was delivered", "step", res.StepID, "err", err.Error())
	}
}

func (a *agent) setRunning(id string, abort context.CancelFunc) {
	a.mu.Lock()
	a.step, a.abort = id, abort
	a.mu.Unlock()
}

// heartbeat refreshes the heartbeat key and, in the same round trip, reads
// the cancel key: a caller that gave up on the running step (or released
// the sandbox: sandbox.CancelAll) gets its process group killed.
func (a *agent) heartbeat(ctx context.Context) {
	t := time.NewTicker(a.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		a.mu.Lock()
		running, abort := a.step, a.abort
		a.mu.Unlock()
		value := "idle"
		if running != "" {
			value = "step " + running
		}
		pipe := a.rdb.Pipeline()
		pipe.Set(ctx, a.keys.Heartbeat, value, 3*a.opts.HeartbeatInterval)
		cancelCmd := pipe.Get(ctx, a.keys.Cancel)
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) && ctx.Err() == nil {
			a.log.V(1).Info("heartbeat not written", "err", err.Error())
		}
		if c := cancelCmd.Val(); running != "" && (c == running || c == sandbox.CancelAll) {
			a.log.Info("step cancelled by its caller", "step", running)
			abort()
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// unrecoverable tells errors that waiting will not fix (a refused login, a
// key of the wrong type) from a Redis that is away or loading.
func unrecoverable(err error) bool {
	var rerr redis.Error
	if err == nil || errors.Is(err, redis.Nil) || !errors.As(err, &rerr) {
		return false
	}
	for _, transient := range []string{"LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "BUSY", "ERR max number of clients"} {
		if strings.HasPrefix(rerr.Error(), transient) {
			return false
		}
	}
	return true
}

// recentIDs remembers the last step ids, so a step pushed twice (a client
// retry after a lost reply) runs once.
type recentIDs struct {
	ids  [64]string
	next int
}

func (r *recentIDs) add(id string) bool {
	for _, seen := range r.ids {
		if seen == id {
			return false
		}
	}
	r.ids[r.next] = id
	r.next = (r.next + 1) % len(r.ids)
	return true
}
