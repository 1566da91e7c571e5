package llm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/config"
)

// RetryPolicy is the agent's `retry` block plus its request timeout.
type RetryPolicy struct {
	MaxRetries   int
	InitialDelay time.Duration
	Multiplier   float64
	MaxDelay     time.Duration
	// Timeout bounds each attempt; 0 means only ctx bounds it.
	Timeout time.Duration
}

// RetryPolicyFor reads an agent's retry block and request timeout.
func RetryPolicyFor(a *config.Agent) RetryPolicy {
	return RetryPolicy{
		MaxRetries:   a.Retry.MaxRetries,
		InitialDelay: time.Duration(a.Retry.InitialDelayMS) * time.Millisecond,
		Multiplier:   a.Retry.BackoffMultiplier,
		MaxDelay:     time.Duration(a.Retry.MaxDelayMS) * time.Millisecond,
		Timeout:      time.Duration(a.RequestTimeoutSeconds) * time.Second,
	}
}

// Backoff is the wait before retry number attempt (1 for the first retry):
// the exponential delay capped at MaxDelay, with "equal jitter" (a random
// point in its upper half) so that callers throttled together do not come
// back together. A provider's Retry-After raises the wait, never lowers it.
func (p RetryPolicy) Backoff(attempt int, retryAfter time.Duration, rnd func() float64) time.Duration {
	mult := max(p.Multiplier, 1)
	d := float64(p.InitialDelay) * math.Pow(mult, float64(attempt-1))
	if p.MaxDelay > 0 {
		d = min(d, float64(p.MaxDelay))
	}
	wait := time.Duration(d/2 + rnd()*d/2)
	return max(wait, retryAfter)
}

// WithRetry returns p with the policy applied: each attempt is bounded by
// the timeout, and retryable failures (see IsRetryable) are tried again up
// to MaxRetries times. A wait that would outlast ctx's deadline is not
// started: the last error is returned at once.
func WithRetry(p Provider, policy RetryPolicy) Provider {
	return &retrier{next: p, policy: policy, rnd: rand.Float64, sleep: sleepCtx}
}

type retrier struct {
	next   Provider
	policy RetryPolicy
	rnd    func() float64
	sleep  func(context.Context, time.Duration) error
}

func (r *retrier) Chat(ctx context.Context, req *Request) (*Response, error) {
	log := logr.FromContextOrDiscard(ctx)
	for attempt := 0; ; attempt++ {
		resp, err := r.attempt(ctx, req)
		if err == nil || !IsRetryable(err) || ctx.Err() != nil {
			return resp, err
		}
		if attempt >= r.policy.MaxRetries {
			return nil, fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
		var retryAfter time.Duration
		if apiErr, ok := errors.AsType[*APIError](err); ok {
			retryAfter = apiErr.RetryAfter
		}
		wait := r.policy.Backoff(attempt+1, retryAfter, r.rnd)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, fmt.Errorf("%w to wait %s for a retry: %w", ErrNoTimeLeft, wait.Round(time.Millisecond), err)
		}
		log.Info("model call failed, retrying", "attempt", attempt+1, "wait", wait.String(), "err", err.Error())
		if err := r.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (r *retrier) attempt(ctx context.Context, req *Request) (*Response, error) {
	if r.policy.Timeout <= 0 {
		return r.next.Chat(ctx, req)
	}
	actx, cancel := context.WithTimeoutCause(ctx, r.policy.Timeout, errAttemptTimeout)
	defer cancel()
	resp, err := r.next.Chat(actx, req)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), errAttemptTimeout) {
		// The attempt's own deadline, not the caller's: a transient failure.
		return nil, &TransportError{Provider: "model request", Err: fmt.Errorf("no answer within %s: %w", r.policy.Timeout, errAttemptTimeout)}
	}
	return resp, err
}

var errAttemptTimeout = errors.New("request timeout")

// ErrNoTimeLeft is matched by the error of a call whose next retry would
// have to wait past the caller's deadline.
var ErrNoTimeLeft = errors.New("no time left")

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
