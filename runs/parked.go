package runs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ExpireParked cancels the runs parked in awaiting_input for longer than
// olderThan: nobody answered their questions. Each keeps its reason (an
// Outcome of kind OutcomeExpired), the finalizer tells the ticket, and the
// ticket's claim goes with it, so the next trigger starts over. It returns
// the runs it cancelled.
func (s *Store) ExpireParked(ctx context.Context, olderThan time.Duration) ([]string, error) {
	cut := time.Now().Add(-olderThan).UnixMilli()
	ids, err := s.rdb.ZRangeByScore(ctx, s.indexKey(StateAwaitingInput), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(cut, 10),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("expire parked runs: %w", err)
	}
	why := "no answer to the questions within " + waitText(olderThan)
	var done []string
	for _, id := range ids {
		_, err := s.Apply(ctx, id, EventCancel, Update{Error: why, Outcome: &RunOutcome{Kind: OutcomeExpired, Reason: why}})
		switch {
		case err == nil:
			done = append(done, id)
			s.log(ctx).Info("cancelled a parked run nobody answered", "run", id, "waited", olderThan)
		case errors.Is(err, ErrNotFound) || errors.Is(err, ErrIllegalTransition):
			// answered or gone meanwhile
		default:
			return done, fmt.Errorf("expire parked runs: %w", err)
		}
	}
	return done, nil
}

// waitText says a wait in days when it is whole days, else in hours.
func waitText(d time.Duration) string {
	h := int(d.Hours())
	if h >= 24 && h%24 == 0 {
		return strconv.Itoa(h/24) + " days"
	}
	return strconv.Itoa(max(h, 1)) + " hours"
}
