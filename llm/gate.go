package llm

import (
	"context"
	"fmt"
)

// Gate bounds how many model calls are in flight at once across every
// provider wrapped with it: `limits.max_concurrent_llm_calls` for one
// orchestrator process. A call waits for a free slot or its context.
type Gate struct{ slots chan struct{} }

// NewGate returns a gate admitting n calls at once (at least one).
func NewGate(n int) *Gate { return &Gate{slots: make(chan struct{}, max(n, 1))} }

// Wrap returns p behind the gate. Wrap it inside WithRetry, so that a call
// waiting out a backoff does not hold a slot.
func (g *Gate) Wrap(p Provider) Provider {
	return ProviderFunc(func(ctx context.Context, req *Request) (*Response, error) {
		select {
		case g.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a free model call slot: %w", ctx.Err())
		}
		defer func() { <-g.slots }()
		return p.Chat(ctx, req)
	})
}

// InFlight is the number of calls holding a slot now.
func (g *Gate) InFlight() int { return len(g.slots) }
