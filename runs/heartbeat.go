package runs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

var activeList = func() string {
	names := make([]string, len(activeStates))
	for i, st := range activeStates {
		names[i] = string(st)
	}
	return strings.Join(names, ",")
}()

// Heartbeat keeps attempt of run id owned for another HeartbeatTTL. It fails
// with ErrLeaseLost once the run has moved on (reclaimed after a missed
// heartbeat, cancelled, finished): the caller must stop working on it.
func (s *Store) Heartbeat(ctx context.Context, id string, attempt int) error {
	reply, err := s.run(ctx, heartbeatScript, []string{s.runKey(id)},
		id, strconv.Itoa(attempt), ms(s.opts.HeartbeatTTL), activeList).Result()
	if err != nil {
		return fmt.Errorf("heartbeat run %s: %w", id, err)
	}
	st, rest, err := status(reply)
	if err != nil {
		return fmt.Errorf("heartbeat run %s: %w", id, err)
	}
	switch st {
	case "ok":
		return nil
	case "missing":
		return fmt.Errorf("heartbeat run %s: %w", id, ErrNotFound)
	case "lost":
		return fmt.Errorf("heartbeat run %s attempt %d: %w: run is at attempt %s in state %s", id, attempt, lostLease(str(rest, 0)), str(rest, 1), str(rest, 0))
	}
	return fmt.Errorf("heartbeat run %s: unexpected script status %q", id, st)
}

// KeepAlive heartbeats attempt of run id every HeartbeatInterval until ctx
// is done (it then returns nil) or the lease is lost (ErrLeaseLost or
// ErrNotFound; the caller must stop the run's work). Redis errors are logged
// and retried: if they outlast the TTL, the run is reclaimed elsewhere and
// the next heartbeat reports the lost lease.
func (s *Store) KeepAlive(ctx context.Context, id string, attempt int) error {
	tick := time.NewTicker(s.HeartbeatInterval())
	defer tick.Stop()
	for {
		err := s.Heartbeat(ctx, id, attempt)
		switch {
		case errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrNotFound):
			return err
		case err != nil && ctx.Err() == nil:
			s.log(ctx).Error(err, "heartbeat failed, retrying", "run", id)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
