// Package retrytest gives the tests of tracker clients a clock for their
// retry.Caller that records the waits asked for instead of spending them.
//
// Test support: no production package may import it (depguard).
package retrytest

import (
	"context"
	"sync"
	"time"

	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

// Clock records every wait and moves forward by it (and by Advance). The
// zero value is ready; it starts at the wall time of its first Install, so
// the callers of a tracker and of its repository host can share it.
type Clock struct {
	mu    sync.Mutex
	waits []time.Duration
	now   time.Time
}

// Install makes c wait on this clock.
func (k *Clock) Install(c *retry.Caller) {
	k.mu.Lock()
	if k.now.IsZero() {
		k.now = time.Now()
	}
	k.mu.Unlock()
	c.Sleep = func(ctx context.Context, d time.Duration) error {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.waits = append(k.waits, d)
		k.now = k.now.Add(d)
		return ctx.Err()
	}
	c.Now = func() time.Time {
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.now
	}
}

// Advance moves the clock forward without a wait, as time passing between
// calls.
func (k *Clock) Advance(d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.now = k.now.Add(d)
}

// Waits are the waits asked for so far, in order.
func (k *Clock) Waits() []time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]time.Duration(nil), k.waits...)
}
