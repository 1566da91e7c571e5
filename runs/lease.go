package runs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrLeaseExpired: the owner could not renew its lease within the
// heartbeat TTL (Redis unreachable); it must make no more side effects, and
// hands the run back once Redis answers again.
var ErrLeaseExpired = errors.New("run lease expired: Redis did not confirm it within its TTL")

// ErrUnreachable wraps a write of a lease's owner that Redis did not
// answer (a connection error, a timeout, a restarting Redis still
// loading): the write may or may not have landed. The owner stops, and the
// worker hands the run back instead of failing it.
var ErrUnreachable = errors.New("no answer from Redis")

// unreachable marks err as ErrUnreachable when it is the transport's (or
// a Redis still loading its data), and leaves the store's own answers
// (lost, not found, illegal) as they are.
func unreachable(err error) error {
	var ne net.Error
	switch {
	case err == nil || errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrIllegalTransition):
		return err
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, redis.ErrClosed), strings.Contains(err.Error(), "LOADING"):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}

// Lease is one replica's ownership of one start of a run. It holds a local
// deadline: the send time of the last renewal Redis confirmed plus the
// heartbeat TTL less a margin (TTL/6), so the owner stops on its own before
// Redis's heartbeat key expires and before anyone may take the run over.
// Guard proves ownership right before each side effect; Bind's context ends
// when the lease is lost, revoked (this process saw the run end or start
// again) or expired.
type Lease struct {
	store  *Store
	run    Run
	owner  Owner
	ttl    time.Duration
	margin time.Duration

	mu       sync.Mutex
	deadline time.Time // monotonic
	ended    error     // why the lease is over; nil while it holds
	last     *transition
	cancel   context.CancelCauseFunc
	timer    *time.Timer
}

// transition is an event the owner applied, with its update.
type transition struct {
	ev Event
	u  Update
}

// newLease is the lease of a start whose script was sent at t0.
func newLease(s *Store, run Run, owner Owner, t0 time.Time) *Lease {
	ttl := s.opts.HeartbeatTTL
	return &Lease{store: s, run: run, owner: owner, ttl: ttl, margin: ttl / 6, deadline: t0.Add(ttl - ttl/6)}
}

// Run is the run as this start took it (its ID, Attempt and Fence).
func (l *Lease) Run() Run { return l.run }

// Fence is the start's fence.
func (l *Lease) Fence() int64 { return l.run.Fence }

// Err is why the lease is over (wrapping ErrLeaseLost or ErrLeaseExpired),
// or nil while it holds.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.endedLocked()
}

// Expired reports whether the lease ran out locally.
func (l *Lease) Expired() bool { return errors.Is(l.Err(), ErrLeaseExpired) }

func (l *Lease) endedLocked() error {
	if l.ended == nil && !time.Now().Before(l.deadline) {
		l.endLocked(ErrLeaseExpired)
	}
	return l.ended
}

// end ends the lease with why; the first reason stays.
func (l *Lease) end(why error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.endLocked(why)
}

func (l *Lease) endLocked(why error) {
	if l.ended != nil {
		return
	}
	l.ended = why
	if l.cancel != nil {
		l.cancel(why)
	}
}

// Bind returns a context of parent that ends, with the reason as its
// cause, when the lease is over: at the local deadline, or as soon as a
// renewal or this process sees the run is no longer this start's.
func (l *Lease) Bind(parent context.Context) context.Context {
	ctx, cancel := context.WithCancelCause(parent)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cancel = cancel
	if err := l.endedLocked(); err != nil {
		cancel(err)
		return ctx
	}
	l.timer = time.AfterFunc(time.Until(l.deadline), l.checkDeadline)
	return ctx
}

// checkDeadline ends the lease at its deadline, or waits for the later one
// a renewal set.
func (l *Lease) checkDeadline() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.endedLocked() == nil {
		l.timer.Reset(time.Until(l.deadline))
	}
}

// Close lets go of the lease: its timer stops and this process no longer
// tracks it. The worker closes it once the execution is settled.
func (l *Lease) Close() {
	l.mu.Lock()
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
	l.store.leases.CompareAndDelete(l.run.ID, l)
}

// extend moves the deadline for a renewal sent at t0 that Redis confirmed.
func (l *Lease) extend(t0 time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.endedLocked() != nil {
		return
	}
	if d := t0.Add(l.ttl - l.margin); d.After(l.deadline) {
		l.deadline = d
	}
}

// renew heartbeats once. A lost lease ends it; other errors (Redis not
// answering) leave it to its deadline.
func (l *Lease) renew(ctx context.Context) error {
	if err := l.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, l.ttl/3)
	defer cancel()
	t0 := time.Now()
	err := l.store.Heartbeat(ctx, l.run.ID, l.run.Fence, l.owner.Name)
	switch {
	case err == nil:
		l.extend(t0)
		return l.Err()
	case errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrNotFound):
		l.end(err)
	}
	return err
}

// Keep renews the lease every third of the heartbeat TTL until ctx ends
// (it returns nil) or the lease is over (it returns why), and meanwhile
// listens for cancels announced by any replica (Store.Cancel). Renewals Redis
// does not answer are retried at the next tick; the deadline ends the
// lease if none gets through in time.
func (l *Lease) Keep(ctx context.Context) error {
	// A cancel announced on another replica ends the lease at once; the
	// renewals below cover an announcement the subscription missed.
	defer l.store.watchCancels(l.store.log(ctx))()
	tick := time.NewTicker(l.ttl / 3)
	defer tick.Stop()
	for {
		err := l.renew(ctx)
		if over := l.Err(); over != nil {
			return over
		}
		if err != nil && ctx.Err() == nil {
			l.store.log(ctx).Info("renewing the run lease failed, retrying", "run", l.run.ID, "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Guard proves, right before a side effect (a tracker or host write, a
// push), that this start still owns the run, and renews the lease with
// the same round trip. While Redis does not answer it retries until the
// lease expires. It returns nil, or why the side effect must not be made.
func (l *Lease) Guard(ctx context.Context) error {
	pause := min(100*time.Millisecond, l.ttl/30)
	for {
		err := l.renew(ctx)
		if err == nil {
			return nil
		}
		if over := l.Err(); over != nil {
			return fmt.Errorf("guard run %s: %w", l.run.ID, over)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("guard run %s: %w", l.run.ID, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// Apply applies the owner's event ev with u, fenced to this start, and
// remembers it: if Redis loses it, the worker applies it again.
func (l *Lease) Apply(ctx context.Context, ev Event, u Update) (Run, error) {
	u.Fence = l.run.Fence
	run, err := l.store.Apply(ctx, l.run.ID, ev, u)
	err = unreachable(err)
	var te *TransitionError
	if err == nil || !errors.Is(err, ErrLeaseLost) && !errors.Is(err, ErrNotFound) && !errors.As(err, &te) {
		l.mu.Lock()
		l.last = &transition{ev: ev, u: u}
		l.mu.Unlock()
	}
	return run, err
}

// Update records u on the run, fenced to this start.
func (l *Lease) Update(ctx context.Context, u Update) (Run, error) {
	u.Fence = l.run.Fence
	run, err := l.store.Update(ctx, l.run.ID, u)
	return run, unreachable(err)
}

// Record appends e to the run's transcript, fenced to this start.
func (l *Lease) Record(ctx context.Context, e Entry) error {
	_, err := l.store.appendFenced(ctx, l.run.ID, l.run.Fence, e)
	return unreachable(err)
}

// Last is the last event the owner applied (or tried to, when Redis did
// not answer), with its update.
func (l *Lease) Last() (Event, Update, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		return "", Update{}, false
	}
	return l.last.ev, l.last.u, true
}

// revokeIfOver ends the lease this process holds on r's run when r is no
// longer that lease's start (another fence) or no longer active.
func (s *Store) revokeIfOver(r Run) {
	// A state written before this lease's start says nothing of it: a
	// submission whose reply comes back after a worker already took the
	// run is queued at no fence.
	if v, ok := s.leases.Load(r.ID); ok && r.Fence < v.(*Lease).run.Fence {
		return
	}
	s.checkLease(r.ID, r.Fence, r.State)
}

func (s *Store) checkLease(id string, fence int64, st State) {
	v, ok := s.leases.Load(id)
	if !ok {
		return
	}
	l := v.(*Lease)
	switch {
	case fence != 0 && fence != l.run.Fence: // 0: a reply that does not carry the fence
		l.end(fmt.Errorf("%w: run %s was started again (fence %d, this start's is %d)", ErrLeaseLost, id, fence, l.run.Fence))
	case !st.Active():
		l.end(fmt.Errorf("%w: run %s is %s", lostLease(string(st)), id, st))
	}
}
