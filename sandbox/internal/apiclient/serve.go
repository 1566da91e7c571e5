package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/backoff"
)

// ErrIdle: no step came for ServeOptions.IdleTimeout.
var ErrIdle = errors.New("idle timeout")

// Executor executes the steps of one role. Execute returns the step's
// result once it is complete, events included; ctx ends when its caller
// cancels the step (or the process stops).
type Executor interface {
	Execute(ctx context.Context, step sandbox.Step) sandbox.StepResult
}

// ServeOptions tune Serve. Zero values take the defaults.
type ServeOptions struct {
	// Accepts reports whether the role executes a step kind; others are
	// answered with a refusal.
	Accepts func(sandbox.Kind) bool
	// IdleTimeout ends Serve with ErrIdle when no step came for that long;
	// 0 never does.
	IdleTimeout time.Duration
	// AuthGrace is how long the API may refuse the token before Serve
	// gives up with ErrUnauthorized: a replica restarting with a new key
	// is not that; a sandbox whose replica is gone for good is. Default 60s.
	AuthGrace time.Duration
	// Scrub masks secrets in every result before it leaves.
	Scrub func(sandbox.StepResult) sandbox.StepResult
	Log   logr.Logger
}

// cancelPollDelay is how long a step runs before its cancel channel is
// opened: short steps need none, and their liveness is the last poll's.
const cancelPollDelay = 250 * time.Millisecond

type server struct {
	c    *Client
	x    Executor
	o    ServeOptions
	seen recentIDs
	// refusedSince is when the API began refusing the token; zero while
	// it takes it.
	refusedSince time.Time
}

// Serve takes steps and answers them until a shutdown step or the job's
// release (nil), the end of ctx (nil), IdleTimeout (ErrIdle), or a token
// the API refuses for longer than AuthGrace (ErrUnauthorized). An API
// that cannot be reached is waited for.
func Serve(ctx context.Context, c *Client, x Executor, o ServeOptions) error {
	if o.AuthGrace <= 0 {
		o.AuthGrace = time.Minute
	}
	if o.Scrub == nil {
		o.Scrub = func(r sandbox.StepResult) sandbox.StepResult { return r }
	}
	s := &server{c: c, x: x, o: o}
	lastActive := time.Now()
	retry := backoff.Policy(2 * time.Second)
	for {
		resp, err := s.next(ctx, lastActive)
		if errors.Is(err, ErrIdle) {
			o.Log.Info("no step came; exiting", "idle", o.IdleTimeout)
			return err
		}
		if stop, err := s.classify(ctx, err); stop {
			return err
		} else if err != nil {
			o.Log.V(1).Info("sandbox API unavailable; retrying", "err", err.Error())
			backoff.Pause(ctx, retry)
			continue
		}
		retry.Reset()
		if resp.Step == nil {
			continue
		}
		done, err := s.handle(ctx, *resp.Step)
		if done || err != nil {
			return err
		}
		lastActive = time.Now()
	}
}

// next polls for a step, for no longer than the idle timeout allows.
func (s *server) next(ctx context.Context, lastActive time.Time) (sandbox.NextResponse, error) {
	if s.o.IdleTimeout <= 0 {
		return s.c.Next(ctx, "")
	}
	left := s.o.IdleTimeout - time.Since(lastActive)
	if left <= 0 {
		return sandbox.NextResponse{}, fmt.Errorf("%w: no step for %s", ErrIdle, s.o.IdleTimeout)
	}
	pctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	resp, err := s.c.Next(pctx, "")
	if err != nil && ctx.Err() == nil && pctx.Err() != nil {
		return resp, fmt.Errorf("%w: no step for %s", ErrIdle, s.o.IdleTimeout)
	}
	return resp, err
}

// classify sorts an error of a call: stop says Serve returns err; otherwise
// a non-nil err is worth a retry.
func (s *server) classify(ctx context.Context, err error) (stop bool, _ error) {
	switch {
	case err == nil:
		s.refusedSince = time.Time{}
		return false, nil
	case ctx.Err() != nil:
		s.o.Log.Info("stopped")
		return true, nil
	case errors.Is(err, ErrReleased):
		s.o.Log.Info("the sandbox was released; exiting")
		return true, nil
	case errors.Is(err, ErrUnauthorized):
		if s.refusedSince.IsZero() {
			s.refusedSince = time.Now()
		}
		if time.Since(s.refusedSince) >= s.o.AuthGrace {
			return true, fmt.Errorf("%w for %s", ErrUnauthorized, s.o.AuthGrace)
		}
	}
	return false, err
}

// handle executes one step and delivers its result; done after a
// shutdown step.
func (s *server) handle(ctx context.Context, step sandbox.Step) (done bool, err error) {
	log := s.o.Log.WithValues("step", step.StepID, "kind", step.Kind)
	if err := step.Validate(); err != nil {
		log.Info("invalid step", "err", err.Error())
		return false, s.reply(ctx, failed(step.StepID, err))
	}
	if !s.seen.add(step.StepID) {
		log.Info("step delivered twice; executed once")
		return false, nil
	}
	if step.Kind == sandbox.KindShutdown {
		log.Info("shutdown")
		return true, s.reply(ctx, sandbox.StepResult{SchemaVersion: sandbox.SchemaVersion, StepID: step.StepID})
	}
	if s.o.Accepts != nil && !s.o.Accepts(step.Kind) {
		log.Info("step of another role refused")
		return false, s.reply(ctx, failed(step.StepID, fmt.Errorf("%s steps are not executed here", step.Kind)))
	}
	res := s.o.Scrub(s.execute(ctx, step))
	// One readable line per step at info: kubectl logs tells the step story.
	log.Info(sandbox.Describe(step, res), "exitCode", res.ExitCode, "duration", res.Duration().Round(time.Millisecond).String())
	return false, s.reply(ctx, res)
}

// execute runs step while watching its cancel channel.
func (s *server) execute(ctx context.Context, step sandbox.Step) sandbox.StepResult {
	sctx, abort := context.WithCancel(ctx)
	defer abort()
	finished := make(chan sandbox.StepResult, 1)
	go func() { finished <- s.x.Execute(sctx, step) }()
	delay := time.NewTimer(cancelPollDelay)
	defer delay.Stop()
	select {
	case res := <-finished:
		return res
	case <-delay.C:
	}
	wctx, stopWatching := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		s.watchCancel(wctx, step.StepID, abort)
	}()
	res := <-finished
	stopWatching()
	<-watched
	return res
}

// watchCancel polls as the running step until its caller cancels it (then
// abort) or ctx ends.
func (s *server) watchCancel(ctx context.Context, id string, abort context.CancelFunc) {
	retry := backoff.Policy(time.Second)
	for ctx.Err() == nil {
		resp, err := s.c.Next(ctx, id)
		switch {
		case err != nil && ctx.Err() == nil:
			if errors.Is(err, ErrReleased) {
				abort()
				return
			}
			backoff.Pause(ctx, retry)
		case resp.Cancel == id || resp.Cancel == sandbox.CancelAll:
			s.o.Log.Info("step cancelled by its caller", "step", id)
			abort()
			return
		default:
			retry.Reset()
		}
	}
}

// reply delivers a result, retried until it is in, nobody wants it, or
// the process stops (then once more, briefly). It returns an error only
// for a token refused past its grace.
func (s *server) reply(ctx context.Context, res sandbox.StepResult) error {
	if sandbox.ValidateStepID(res.StepID) != nil {
		return nil // nothing to answer on
	}
	data, err := encodeResult(res)
	if err != nil {
		s.o.Log.Error(err, "encode result", "step", res.StepID)
		return nil
	}
	retry := backoff.Policy(2 * time.Second)
	for {
		err := s.c.Result(ctx, res.StepID, data)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrUnknownStep):
			s.o.Log.Info("nobody waits for the result anymore", "step", res.StepID)
			return nil
		case errors.Is(err, ErrTooLarge):
			data, _ = encodeResult(failed(res.StepID, errors.New("the result was refused as too large")))
			continue
		}
		if stop, err := s.classify(ctx, err); stop {
			if ctx.Err() != nil {
				s.lastTry(ctx, res.StepID, data)
			}
			return err
		}
		s.o.Log.V(1).Info("result not delivered yet; retrying", "step", res.StepID, "err", err.Error())
		backoff.Pause(ctx, retry)
	}
}

// lastTry is the one bounded attempt made for a result when the process
// was told to stop.
func (s *server) lastTry(ctx context.Context, id string, data []byte) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.c.Result(ctx, id, data); err != nil {
		s.o.Log.Info("stopped before the result was delivered", "step", id, "err", err.Error())
	}
}

// encodeResult encodes res, replaced by a refusal when it would be over
// the API's limit.
func encodeResult(res sandbox.StepResult) ([]byte, error) {
	data, err := json.Marshal(res)
	if err != nil || len(data) <= sandbox.MaxResultBytes {
		return data, err
	}
	return json.Marshal(failed(res.StepID, fmt.Errorf("the result has %d bytes, over the %d-byte limit", len(data), sandbox.MaxResultBytes)))
}

func failed(stepID string, err error) sandbox.StepResult {
	return sandbox.StepResult{SchemaVersion: sandbox.SchemaVersion, StepID: stepID, ExitCode: -1, ErrorMessage: err.Error()}
}

// recentIDs remembers the last step ids, so a step delivered twice runs
// once.
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
