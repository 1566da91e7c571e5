package runs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// reclaimBatch bounds the entries one reclaim pass takes over.
const reclaimBatch = 100

// Dequeue blocks until a queued run is available, starts it for owner
// (queued → starting, owner recorded, a new fence drawn, heartbeat
// started) and returns the lease of that start. From then on the caller
// keeps the lease with Keep, guards side effects with Guard and ends the
// run with the lease's Apply; if the caller dies, the run is reclaimed by
// another consumer once its heartbeat lapses. Before blocking, Dequeue
// reclaims runs whose owner died (at most once per BlockTimeout per Store).
//
// It returns ctx's error once ctx is done; a cancelled call returns within
// one BlockTimeout, and an entry read meanwhile goes back to the queue.
func (s *Store) Dequeue(ctx context.Context, owner Owner) (*Lease, error) {
	if owner.Name == "" {
		return nil, errors.New("dequeue: owner has no name")
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.reclaimDue() {
			if _, err := s.Reclaim(ctx, owner.Name); err != nil {
				return nil, fmt.Errorf("dequeue: %w", err)
			}
		}
		streams, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: group, Consumer: owner.Name, Streams: []string{s.queueKey(), ">"},
			Count: 1, Block: s.opts.BlockTimeout,
		}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case isNoGroup(err):
			if err := s.ensureGroup(ctx); err != nil {
				return nil, fmt.Errorf("dequeue: %w", err)
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("dequeue: read queue: %w", err)
		}
		for _, st := range streams {
			for _, msg := range st.Messages {
				t0 := time.Now()
				run, ok, err := s.take(ctx, msg, owner)
				if err != nil {
					return nil, err
				}
				if ok {
					l := newLease(s, run, owner, t0)
					s.leases.Store(run.ID, l)
					return l, nil
				}
			}
		}
	}
}

// take starts the run of one entry read from the queue; ok is false when
// the entry was stale and retired.
func (s *Store) take(ctx context.Context, msg redis.XMessage, owner Owner) (Run, bool, error) {
	id, _ := msg.Values["run"].(string)
	// The entry is ours now: finish with it even if ctx ended meanwhile,
	// or it would sit unstarted until a heartbeat TTL has passed.
	bg := context.WithoutCancel(ctx)
	if ctx.Err() != nil {
		if err := s.run(bg, releaseScript, []string{s.runKey(id)}, id, msg.ID).Err(); err != nil {
			return Run{}, false, fmt.Errorf("dequeue: release run %s: %w", id, err)
		}
		return Run{}, false, ctx.Err()
	}
	reply, err := s.run(bg, startScript, []string{s.runKey(id)},
		id, msg.ID, encodePlan(EventStart), owner.Name, owner.UID, ms(s.opts.HeartbeatTTL)).Result()
	if err != nil {
		return Run{}, false, fmt.Errorf("dequeue: start run %s: %w", id, err)
	}
	st, rest, err := status(reply)
	if err != nil {
		return Run{}, false, fmt.Errorf("dequeue: start run %s: %w", id, err)
	}
	if st == "skip" {
		s.log(ctx).V(1).Info("retired stale queue entry", "run", id, "state", str(rest, 0))
		return Run{}, false, nil
	}
	run, err := hashReply(rest, 0)
	if err != nil {
		return Run{}, false, fmt.Errorf("dequeue: start run %s: %w", id, err)
	}
	s.log(ctx).V(1).Info("run transition", "run", id, "event", EventStart, "state", run.State, "attempt", run.Attempt, "fence", run.Fence)
	s.recorded(ctx, run, EventStart, "")
	return run, true, nil
}

func (s *Store) reclaimDue() bool {
	now := time.Now().UnixNano()
	last := s.lastReclaim.Load()
	return now-last >= int64(s.opts.BlockTimeout) && s.lastReclaim.CompareAndSwap(last, now)
}

// Reclaim takes over the queue entries of runs whose owner stopped
// heartbeating: an active run goes back to the queue as a new attempt (or
// fails once MaxAttempts attempts were lost), a run read but never started
// goes back as it is. consumer names the taker in the consumer group. It
// returns how many runs it moved. Dequeue calls it; the housekeeper may too.
func (s *Store) Reclaim(ctx context.Context, consumer string) (int, error) {
	moved := 0
	for {
		reply, err := s.reclaimOnce(ctx, consumer)
		if isNoGroup(err) {
			if err := s.ensureGroup(ctx); err != nil {
				return moved, fmt.Errorf("reclaim: %w", err)
			}
			reply, err = s.reclaimOnce(ctx, consumer)
		}
		if err != nil {
			return moved, fmt.Errorf("reclaim: %w", err)
		}
		for _, item := range reply {
			fields, _ := item.([]any)
			id, what := str(fields, 0), str(fields, 1)
			if what == "grace" {
				s.graceLogged(ctx, fields)
				return moved, nil
			}
			moved++
			if what == "requeued" {
				s.log(ctx).Info("requeued run read by a consumer that never started it", "run", id)
				continue
			}
			run, err := hashReply(fields, 2)
			if err != nil {
				return moved, fmt.Errorf("reclaim run %s: %w", id, err)
			}
			ev := EventRetry
			if what == "failed" {
				ev = EventFail
				s.log(ctx).Info("run failed: owner lost too often", "run", id, "ticket", run.Ticket, "reason", run.Error)
			} else {
				s.log(ctx).Info("reclaimed run from a dead owner", "run", id, "ticket", run.Ticket, "attempt", run.Attempt, "step", run.Step)
			}
			s.recorded(ctx, run, ev, "")
		}
		if len(reply) < reclaimBatch {
			return moved, nil
		}
	}
}

func (s *Store) reclaimOnce(ctx context.Context, consumer string) ([]any, error) {
	return s.run(ctx, reclaimScript, []string{s.queueKey()},
		consumer, ms(s.opts.HeartbeatTTL), strconv.Itoa(reclaimBatch), strconv.Itoa(s.opts.MaxAttempts),
		encodePlan(EventRetry), encodePlan(EventFail), ms(s.opts.Retention), ms(s.epochGap())).Slice()
}

// graceLogged reports, once per epoch, that reclaiming waits: Redis
// restarted or was unreachable, and owners get one heartbeat TTL to renew
// or hand back before their runs are taken from them.
func (s *Store) graceLogged(ctx context.Context, fields []any) {
	why := str(fields, 3)
	since, _ := strconv.ParseInt(str(fields, 4), 10, 64)
	if since == 0 || s.loggedEpoch.Swap(since) == since {
		return
	}
	left, _ := strconv.ParseInt(str(fields, 2), 10, 64)
	what := "was unreachable for longer than half a heartbeat TTL"
	if why == "restart" {
		what = "restarted"
	}
	s.log(ctx).Info("Redis "+what+": reclaiming paused so live owners can renew", "pause", time.Duration(left)*time.Millisecond)
	if s.opts.OnEpoch != nil {
		s.opts.OnEpoch(why)
	}
}

// ensureGroup creates the consumer group, reading from the stream's start so
// runs submitted before any consumer existed are delivered.
func (s *Store) ensureGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.queueKey(), group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group: %w", err)
	}
	return nil
}

func isNoGroup(err error) bool { return err != nil && strings.Contains(err.Error(), "NOGROUP") }
