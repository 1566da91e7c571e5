// Package account keeps who a tracker's credentials act as: learned from
// the tracker's API once, cached, shared by the REST and webhook paths of
// one tracker. It owns no tracker specifics (the learn function does) and
// must not import the tracker packages.
package account

import (
	"context"
	"sync"
	"time"

	"github.com/agent-smith/agent-smith/trackers"
)

// retryGap is the least time between background attempts the webhook path
// starts while the identity is unknown, so deliveries cannot drive API
// calls.
const retryGap = 30 * time.Second

// learnTimeout bounds an attempt started in the background.
const learnTimeout = time.Minute

// Account is a tracker's own identity, learned lazily. It is safe for
// concurrent use.
type Account struct {
	learn func(context.Context) (trackers.Identity, error)
	now   func() time.Time

	// learnMu serialises learning, so concurrent first callers ask once.
	learnMu sync.Mutex

	mu       sync.Mutex
	id       trackers.Identity
	kickedAt time.Time
	kicking  bool
}

// New is an Account that learns the identity with learn.
func New(learn func(context.Context) (trackers.Identity, error)) *Account {
	return &Account{learn: learn, now: time.Now}
}

// Get is the identity, learned now unless it is known already. A failure
// is returned and not remembered.
func (a *Account) Get(ctx context.Context) (trackers.Identity, error) {
	if id, ok := a.known(); ok {
		return id, nil
	}
	a.learnMu.Lock()
	defer a.learnMu.Unlock()
	if id, ok := a.known(); ok {
		return id, nil
	}
	id, err := a.learn(ctx)
	if err != nil {
		return trackers.Identity{}, err
	}
	a.mu.Lock()
	a.id = id
	a.mu.Unlock()
	return id, nil
}

// Cached is the identity if it is known. When it is not, it starts
// learning it in the background (at most once per retryGap) and reports
// false: the webhook path never waits for the tracker's API.
func (a *Account) Cached() (trackers.Identity, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.id.Known() {
		return a.id, true
	}
	now := a.now()
	if !a.kicking && (a.kickedAt.IsZero() || now.Sub(a.kickedAt) >= retryGap) {
		a.kicking, a.kickedAt = true, now
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), learnTimeout)
			defer cancel()
			_, _ = a.Get(ctx)
			a.mu.Lock()
			a.kicking = false
			a.mu.Unlock()
		}()
	}
	return trackers.Identity{}, false
}

func (a *Account) known() (trackers.Identity, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id, a.id.Known()
}
