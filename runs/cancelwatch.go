package runs

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"
)

// cancelChannel is where Cancel announces the id of a run it called off,
// for the replica that owns the run: its heartbeat would tell it only a
// third of the heartbeat TTL later.
func (s *Store) cancelChannel() string { return s.opts.Prefix + "cancelled" }

// announceCancel publishes run's id on the cancel channel when a replica
// owns (or owned) it. Losing the notice costs only time: the owner's next
// heartbeat finds the run cancelled.
func (s *Store) announceCancel(ctx context.Context, run Run) {
	if run.Owner.Name == "" {
		return
	}
	if err := s.rdb.Publish(ctx, s.cancelChannel(), run.ID).Err(); err != nil {
		s.log(ctx).Info("announcing the cancel failed; its owner learns it at its next heartbeat", "run", run.ID, "error", err.Error())
	}
}

// cancelWatch is a Store's subscription to the cancel channel. It is held
// while the Store keeps at least one lease (Lease.Keep): a replica with no
// run to lose needs no connection for it.
type cancelWatch struct {
	mu      sync.Mutex
	holders int
	ps      *redis.PubSub
	done    chan struct{} // closed with ps
}

// watchCancels subscribes to the cancel channel unless this Store already
// does, and returns the function that lets go of it: the last one to let
// go closes the subscription.
func (s *Store) watchCancels(log logr.Logger) (unwatch func()) {
	w := &s.cancels
	w.mu.Lock()
	defer w.mu.Unlock()
	w.holders++
	if w.holders == 1 {
		// No channel yet: no I/O under the lock, nor before the caller's
		// first renewal. The listener subscribes.
		w.ps, w.done = s.rdb.Subscribe(context.Background()), make(chan struct{})
		go s.listenCancels(w.ps, w.done, log)
	}
	return sync.OnceFunc(func() {
		w.mu.Lock()
		w.holders--
		last, ps, done := w.holders == 0, w.ps, w.done
		if last {
			w.ps, w.done = nil, nil
		}
		w.mu.Unlock()
		if last {
			// Outside the lock: closing waits for a redial under way.
			close(done)
			_ = ps.Close()
		}
	})
}

// listenCancels ends the lease of every run announced on the cancel
// channel that this Store holds, until ps is closed. Each (re)subscription
// is followed by a renewal of the held leases: a cancel announced while
// the subscription was down would otherwise wait for the next heartbeat.
func (s *Store) listenCancels(ps *redis.PubSub, done <-chan struct{}, log logr.Logger) {
	ctx := logr.NewContext(context.Background(), log)
	idle := s.HeartbeatInterval()
	// A failure is kept with the channel: the receive below dials and
	// subscribes again.
	if err := ps.Subscribe(ctx, s.cancelChannel()); err != nil && !errors.Is(err, redis.ErrClosed) {
		log.Info("subscribing to cancels failed; retrying", "error", err.Error())
	}
	var backoff time.Duration // after failures in a row; the first one retries at once
	for {
		msg, err := ps.ReceiveTimeout(ctx, idle)
		var ne net.Error
		switch {
		case errors.Is(err, redis.ErrClosed):
			return
		case errors.As(err, &ne) && ne.Timeout():
			// Quiet for a while: a ping proves the connection, or its
			// failure makes the next receive dial and subscribe again.
			_ = ps.Ping(ctx)
		case err != nil:
			select {
			case <-done: // let go of while it waited
				return
			default:
			}
			// The client dialled again and subscribed anew already, if it
			// could; the confirmation is the next message.
			log.Info("the cancel subscription failed; heartbeats still tell owners of cancels", "error", err.Error())
			if !pause(done, backoff) {
				return
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), idle)
			continue
		}
		backoff = 0
		switch m := msg.(type) {
		case *redis.Subscription:
			s.renewLeases(ctx)
		case *redis.Message:
			s.cancelled(ctx, m.Payload)
		}
	}
}

// pause waits d before the listener tries again, or returns false at
// once when the subscription was let go meanwhile.
func pause(done <-chan struct{}, d time.Duration) bool {
	if d == 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// cancelled ends the lease this Store holds on run id if the run, as Redis
// has it now, is no longer that lease's start or no longer active. The
// notice only says where to look: the run's record decides.
func (s *Store) cancelled(ctx context.Context, id string) {
	if _, ok := s.leases.Load(id); !ok {
		return
	}
	run, err := s.Get(ctx, id)
	if err != nil {
		// Not found ends the lease at the next heartbeat; Redis not
		// answering is for the heartbeat and the deadline to judge.
		return
	}
	s.revokeIfOver(run)
}

// renewLeases heartbeats every lease this Store holds once.
func (s *Store) renewLeases(ctx context.Context) {
	s.leases.Range(func(_, v any) bool {
		_ = v.(*Lease).renew(ctx)
		return true
	})
}
