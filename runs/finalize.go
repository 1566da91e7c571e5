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

// FinalizeEntry is a run that ended and whose ticket is still to be told:
// one entry of the finalize outbox, which every terminal transition adds
// in the same script that ends the run.
type FinalizeEntry struct {
	// ID is the outbox entry.
	ID    string
	RunID string
	// Fence is the run's fence when it ended: the start whose owner the
	// finalizer waits for.
	Fence int64
}

// NextFinalize returns the next outbox entry for consumer: one another
// finalizer took but left alone for FinalizeLease (it died), else a new
// one, waiting up to BlockTimeout. ok is false when there is none.
func (s *Store) NextFinalize(ctx context.Context, consumer string) (e FinalizeEntry, ok bool, err error) {
	for range 2 {
		e, ok, err = s.nextFinalize(ctx, consumer)
		if !isNoGroup(err) {
			break
		}
		if gerr := s.rdb.XGroupCreateMkStream(ctx, s.finalizeKey(), finalizers, "0").Err(); gerr != nil && !strings.HasPrefix(gerr.Error(), "BUSYGROUP") {
			return FinalizeEntry{}, false, fmt.Errorf("create finalizers group: %w", gerr)
		}
	}
	if err != nil {
		return FinalizeEntry{}, false, fmt.Errorf("next finalize entry: %w", err)
	}
	return e, ok, nil
}

func (s *Store) nextFinalize(ctx context.Context, consumer string) (FinalizeEntry, bool, error) {
	msgs, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: s.finalizeKey(), Group: finalizers, Consumer: consumer,
		MinIdle: s.opts.FinalizeLease, Start: "0-0", Count: 1,
	}).Result()
	if err != nil {
		return FinalizeEntry{}, false, err
	}
	if len(msgs) == 0 {
		streams, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: finalizers, Consumer: consumer, Streams: []string{s.finalizeKey(), ">"},
			Count: 1, Block: s.opts.BlockTimeout,
		}).Result()
		if errors.Is(err, redis.Nil) {
			return FinalizeEntry{}, false, nil
		}
		if err != nil {
			return FinalizeEntry{}, false, err
		}
		for _, st := range streams {
			msgs = append(msgs, st.Messages...)
		}
	}
	if len(msgs) == 0 {
		return FinalizeEntry{}, false, nil
	}
	m := msgs[0]
	e := FinalizeEntry{ID: m.ID}
	e.RunID, _ = m.Values["run"].(string)
	fence, _ := m.Values["fence"].(string)
	e.Fence, _ = strconv.ParseInt(fence, 10, 64)
	return e, true, nil
}

// KeepFinalizing renews consumer's claim on e while it works on it, so
// that no other finalizer takes it over.
func (s *Store) KeepFinalizing(ctx context.Context, consumer string, e FinalizeEntry) error {
	err := s.rdb.XClaimJustID(ctx, &redis.XClaimArgs{
		Stream: s.finalizeKey(), Group: finalizers, Consumer: consumer, MinIdle: 0, Messages: []string{e.ID},
	}).Err()
	if err != nil {
		return fmt.Errorf("keep finalizing run %s: %w", e.RunID, err)
	}
	return nil
}

// FinalizeLease is how long a finalizer may go without renewing its claim
// on an entry before another one takes it.
func (s *Store) FinalizeLease() time.Duration { return s.opts.FinalizeLease }

// FinalizeDeadline bounds the retries of transient ticket write failures,
// counted from the run's end.
func (s *Store) FinalizeDeadline() time.Duration { return s.opts.FinalizeDeadline }

// Finalized records that the ticket of e's run was told (result done) or
// that some write was given up on (gave_up, skipped says which), drops the
// ticket claim if it still names the run, and retires the entry.
func (s *Store) Finalized(ctx context.Context, e FinalizeEntry, result FinalizeState, skipped string) error {
	err := s.run(ctx, finalizedScript, []string{s.runKey(e.RunID), s.finalizeKey()},
		e.RunID, e.ID, finalizers, string(result), redact(skipped)).Err()
	if err != nil {
		return fmt.Errorf("record run %s finalized: %w", e.RunID, err)
	}
	s.log(ctx).V(1).Info("run finalized", "run", e.RunID, "result", result)
	return nil
}
