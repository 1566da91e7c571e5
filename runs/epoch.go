package runs

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Epoch is a stretch of Redis's life without a restart or an outage, as
// the store's scripts saw it (touch_epoch): a new one begins when Redis's
// run_id changes or nobody reached it for half a heartbeat TTL.
type Epoch struct {
	// Since is when the epoch began, Seen when a replica last reached
	// Redis, both by Redis's clock.
	Since, Seen time.Time
	// Recovered is the Since of the last epoch whose re-intake pass is
	// done (MarkRecovered); the data set's first epoch needs none.
	Recovered time.Time
	// Why says how the epoch began: fresh, restart or gap.
	Why string
}

// NeedsRecovery reports whether the epoch began with a restart or an
// outage whose re-intake pass is still due, and its grace (ttl) is over.
func (e Epoch) NeedsRecovery(ttl time.Duration) bool {
	return !e.Since.IsZero() && !e.Since.Equal(e.Recovered) && e.Seen.Sub(e.Since) >= ttl
}

// Epoch reads the current epoch (zero before any script touched it).
func (s *Store) Epoch(ctx context.Context) (Epoch, error) {
	h, err := s.rdb.HGetAll(ctx, s.epochKey()).Result()
	if err != nil {
		return Epoch{}, fmt.Errorf("read the Redis epoch: %w", err)
	}
	e := Epoch{Why: h["why"]}
	for _, f := range []struct {
		field string
		into  *time.Time
	}{{"since", &e.Since}, {"seen", &e.Seen}, {"recovered", &e.Recovered}} {
		ms, err := strconv.ParseInt(h[f.field], 10, 64)
		if err == nil && ms > 0 {
			*f.into = time.UnixMilli(ms)
		}
	}
	return e, nil
}

// MarkRecovered records that the re-intake pass of the epoch that began at
// since is done.
func (s *Store) MarkRecovered(ctx context.Context, since time.Time) error {
	if err := s.rdb.HSet(ctx, s.epochKey(), "recovered", since.UnixMilli()).Err(); err != nil {
		return fmt.Errorf("record the Redis epoch recovered: %w", err)
	}
	return nil
}
