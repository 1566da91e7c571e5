package runs

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Get returns run id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Run, error) {
	h, err := s.rdb.HGetAll(ctx, s.runKey(id)).Result()
	if err != nil {
		return Run{}, fmt.Errorf("get run %s: %w", id, err)
	}
	if len(h) == 0 {
		return Run{}, fmt.Errorf("get run %s: %w", id, ErrNotFound)
	}
	return decodeRun(h)
}

// Count returns how many runs wait or work: the number in each state that
// is not terminal (terminal runs stay indexed until their retention ends,
// so their counts say little).
func (s *Store) Count(ctx context.Context) (map[State]int64, error) {
	counts := map[State]*redis.IntCmd{}
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, st := range States {
			if !st.Terminal() {
				counts[st] = pipe.ZCard(ctx, s.indexKey(st))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count runs: %w", err)
	}
	out := make(map[State]int64, len(counts))
	for st, c := range counts {
		out[st] = c.Val()
	}
	return out, nil
}

// List returns up to limit runs in state st, the most recent arrivals in
// that state first (limit <= 0: all).
func (s *Store) List(ctx context.Context, st State, limit int64) ([]Run, error) {
	stop := limit - 1
	if limit <= 0 {
		stop = -1
	}
	ids, err := s.rdb.ZRevRange(ctx, s.indexKey(st), 0, stop).Result()
	if err != nil {
		return nil, fmt.Errorf("list %s runs: %w", st, err)
	}
	runs, err := s.getMany(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list %s runs: %w", st, err)
	}
	// A run may have moved on between the index read and the hash read.
	out := runs[:0]
	for _, r := range runs {
		if r.State == st {
			out = append(out, r)
		}
	}
	return out, nil
}

// Stale returns the active runs whose heartbeat has lapsed: their owner
// died or lost Redis. Reclaim moves them on; this is for housekeeping to
// report.
func (s *Store) Stale(ctx context.Context) ([]Run, error) {
	var candidates []string
	for _, st := range activeStates {
		ids, err := s.rdb.ZRange(ctx, s.indexKey(st), 0, -1).Result()
		if err != nil {
			return nil, fmt.Errorf("list stale runs: %w", err)
		}
		candidates = append(candidates, ids...)
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	exists := make([]*redis.IntCmd, len(candidates))
	for i, id := range candidates {
		exists[i] = pipe.Exists(ctx, s.heartbeatKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("list stale runs: %w", err)
	}
	var lapsed []string
	for i, id := range candidates {
		if exists[i].Val() == 0 {
			lapsed = append(lapsed, id)
		}
	}
	runs, err := s.getMany(ctx, lapsed)
	if err != nil {
		return nil, fmt.Errorf("list stale runs: %w", err)
	}
	out := runs[:0]
	for _, r := range runs {
		if r.State.Active() {
			out = append(out, r)
		}
	}
	return out, nil
}

// getMany reads runs by id in one round trip, skipping the expired ones.
func (s *Store) getMany(ctx context.Context, ids []string) ([]Run, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.runKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	runs := make([]Run, 0, len(ids))
	for _, c := range cmds {
		if len(c.Val()) == 0 {
			continue
		}
		r, err := decodeRun(c.Val())
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// ActiveRun returns the id of the ticket's unfinished run (queued, active or
// awaiting input), or "" when it has none: the ticket claim Submit takes.
func (s *Store) ActiveRun(ctx context.Context, tracker, ticket string) (string, error) {
	id, err := s.rdb.Get(ctx, s.ticketKey(tracker, ticket)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("active run of ticket %s: %w", ticket, err)
	}
	return id, nil
}
