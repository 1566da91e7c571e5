// Package backoff spaces out the retries of the sandbox's clients of the
// sandbox API (the agent and the gate) against an orchestrator that is
// away or restarting.
//
// It imports no package of agent-smith.
package backoff

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Policy is exponential from 50 ms up to ceiling, with jitter so that the
// clients of a restarted server do not come back in step.
func Policy(ceiling time.Duration) *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{InitialInterval: 50 * time.Millisecond, RandomizationFactor: 0.3, Multiplier: 2, MaxInterval: ceiling}
}

// Pause waits the policy's next interval; false when ctx ended first.
func Pause(ctx context.Context, b *backoff.ExponentialBackOff) bool {
	t := time.NewTimer(b.NextBackOff())
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
