package runs

import (
	"context"
	"fmt"
	"strconv"
)

// Heartbeat keeps the start of run id at fence owned by owner for another
// HeartbeatTTL. It fails with ErrLeaseLost once the run has moved on
// (reclaimed after a missed heartbeat, started again, cancelled, finished)
// or names another owner: the caller must stop working on it. A Lease calls
// it; it is exported for tests and tools.
func (s *Store) Heartbeat(ctx context.Context, id string, fence int64, owner string) error {
	reply, err := s.run(ctx, heartbeatScript, []string{s.runKey(id)},
		id, strconv.FormatInt(fence, 10), owner, ms(s.opts.HeartbeatTTL), ms(s.epochGap())).Result()
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
		return fmt.Errorf("heartbeat run %s fence %d of %s: %w: run is at fence %s (attempt %s) of %s in state %s",
			id, fence, owner, lostLease(str(rest, 0)), str(rest, 2), str(rest, 1), str(rest, 3), str(rest, 0))
	}
	return fmt.Errorf("heartbeat run %s: unexpected script status %q", id, st)
}
