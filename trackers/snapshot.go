package trackers

import (
	"context"
	"sync"

	"github.com/agent-smith/agent-smith/config"
)

// Snapshot is one loaded configuration with the trackers built from it.
// It is never modified; a new configuration is a new Snapshot.
type Snapshot struct {
	Config   *config.Config
	Trackers map[string]Tracker
}

// Current holds the Snapshot in effect. The config reconciler swaps it;
// runs already started keep the snapshot they started with, new work and
// the pollers take the current one.
type Current struct {
	mu      sync.Mutex
	snap    *Snapshot
	changed chan struct{}
}

// NewCurrent starts with snap in effect.
func NewCurrent(snap *Snapshot) *Current {
	return &Current{snap: snap, changed: make(chan struct{})}
}

// Load returns the snapshot in effect and a channel closed when it is
// replaced.
func (c *Current) Load() (*Snapshot, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap, c.changed
}

// Store puts snap in effect and wakes everyone waiting on the old one.
func (c *Current) Store(snap *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.snap = snap
	close(c.changed)
	c.changed = make(chan struct{})
}

// Watch calls fn with the snapshot in effect and again with every new one,
// until ctx ends. fn runs on Watch's goroutine.
func (c *Current) Watch(ctx context.Context, fn func(*Snapshot)) {
	for {
		snap, changed := c.Load()
		fn(snap)
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}
