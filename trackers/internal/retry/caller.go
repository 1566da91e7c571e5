package retry

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Policy is what a tracker client decides for itself.
type Policy struct {
	// Tracker names the tracker in errors and logs ("GitHub").
	Tracker string
	// Attempts bounds how often one call is sent.
	Attempts int
	// MaxWait is the longest one wait of a call may be; a tracker that asks
	// for more fails the call at once.
	MaxWait time.Duration
	// Decide says what to do after attempt (1-based) failed with err, now.
	// idempotent calls may be sent again after a failure that may have been
	// processed; others only after a refusal that was not.
	Decide func(err error, attempt int, idempotent bool, now time.Time) Decision
}

// Caller runs the calls of one tracker client. It is safe for concurrent
// use.
type Caller struct {
	policy Policy

	// Sleep and Now are the clock; tests replace them to observe waits
	// without spending them.
	Sleep func(context.Context, time.Duration) error
	Now   func() time.Time

	mu sync.Mutex
	// pausedUntil holds every call back while the tracker said to wait, so
	// concurrent callers do not keep hitting its rate limit.
	pausedUntil time.Time
}

// New is a Caller on the wall clock.
func New(p Policy) *Caller {
	return &Caller{policy: p, Sleep: sleep, Now: time.Now}
}

// Call runs fn until it succeeds, fails for good, or runs out of attempts;
// errors are prefixed with what. A rate-limited wait holds back every call
// of this Caller, not only the refused one; other waits delay this call
// only.
func (c *Caller) Call(ctx context.Context, what string, idempotent bool, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		if err := c.waitPause(ctx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		d := c.policy.Decide(err, attempt, idempotent, c.Now())
		switch {
		case !d.Retry || attempt >= c.policy.Attempts:
			return fmt.Errorf("%s: %w", what, err)
		case d.Wait > c.policy.MaxWait:
			return fmt.Errorf("%s: %s asks to wait %s, longer than the %s a call may wait: %w",
				what, c.policy.Tracker, d.Wait.Round(time.Second), c.policy.MaxWait, err)
		}
		logr.FromContextOrDiscard(ctx).V(1).Info(c.policy.Tracker+" call will be retried",
			"call", what, "attempt", attempt, "wait", d.Wait, "rateLimited", d.RateLimited, "error", err.Error())
		if d.RateLimited {
			c.Pause(d.Wait)
			continue
		}
		if err := c.Sleep(ctx, d.Wait); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
}

// Pause holds back every call of this Caller for d from now, but never
// longer than MaxWait, so an exaggerated announcement cannot stall the
// client for longer than a call would wait. A pause already reaching
// further is kept.
func (c *Caller) Pause(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if until := c.Now().Add(min(d, c.policy.MaxWait)); until.After(c.pausedUntil) {
		c.pausedUntil = until
	}
}

func (c *Caller) waitPause(ctx context.Context) error {
	c.mu.Lock()
	wait := c.pausedUntil.Sub(c.Now())
	c.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	if err := c.Sleep(ctx, wait); err != nil {
		return err
	}
	c.mu.Lock()
	if !c.pausedUntil.After(c.Now()) {
		c.pausedUntil = time.Time{}
	}
	c.mu.Unlock()
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
