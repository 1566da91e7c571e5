package runs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Append adds e to run id's event log and returns the entry's id. Free
// text is bounded and scrubbed of credentials first (see Entry); the log
// keeps its newest EventLimit entries and EventBytes bytes, and expires with
// the run. It costs one Redis round trip: producers call it on the step
// path.
func (s *Store) Append(ctx context.Context, id string, e Entry) (string, error) {
	return s.appendFenced(ctx, id, 0, e)
}

// appendFenced is Append for the owner of fence (0: anyone): a stale
// owner's entry is refused with ErrLeaseLost.
func (s *Store) appendFenced(ctx context.Context, id string, fence int64, e Entry) (string, error) {
	kv, err := e.sanitized().encode()
	if err != nil {
		return "", fmt.Errorf("append to the log of run %s: %w", id, err)
	}
	args := append([]any{strconv.FormatInt(s.opts.EventLimit, 10), strconv.FormatInt(s.opts.EventBytes, 10),
		strconv.FormatInt(fence, 10)}, kv...)
	reply, err := s.run(ctx, eventScript, []string{s.runKey(id), s.eventsKey(id)}, args...).Result()
	if err != nil {
		return "", fmt.Errorf("append to the log of run %s: %w", id, err)
	}
	st, rest, err := status(reply)
	switch {
	case err != nil:
		return "", fmt.Errorf("append to the log of run %s: %w", id, err)
	case st == "missing":
		return "", fmt.Errorf("append to the log of run %s: %w", id, ErrNotFound)
	case st == "lost":
		return "", fmt.Errorf("append to the log of run %s: %w: it was started again since fence %d", id, ErrLeaseLost, fence)
	}
	return str(rest, 0), nil
}

// AppendProgress adds a note (a line of prose) to run id's event log.
func (s *Store) AppendProgress(ctx context.Context, id, step, message string) error {
	_, err := s.Append(ctx, id, Entry{Kind: KindNote, Step: step, Message: message})
	return err
}

// Events returns up to limit entries (limit <= 0: all) of run id's event
// log after the entry with id after ("" = from the start), oldest first. A
// run without entries, or gone, has none.
func (s *Store) Events(ctx context.Context, id, after string, limit int64) ([]Entry, error) {
	start := "-"
	if after != "" {
		start = "(" + after
	}
	cmd := s.rdb.XRange(ctx, s.eventsKey(id), start, "+")
	if limit > 0 {
		cmd = s.rdb.XRangeN(ctx, s.eventsKey(id), start, "+", limit)
	}
	msgs, err := cmd.Result()
	if err != nil {
		return nil, fmt.Errorf("read the log of run %s: %w", id, err)
	}
	return decodeEntries(id, msgs)
}

func decodeEntries(id string, msgs []redis.XMessage) ([]Entry, error) {
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		e, err := decodeEntry(m.ID, m.Values)
		if err != nil {
			return nil, fmt.Errorf("read the log of run %s: %w", id, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// followBatch bounds the entries one blocking read of Follow returns.
const followBatch = 100

// endGrace is how long Follow waits for the log's entry of a run's end
// once the run's state says it ended: the store appends it just after the
// transition.
const endGrace = time.Second

// Follow calls fn with every entry of run id's log after the entry with id
// after ("" = from the start), oldest first, and waits for new ones until
// the run has ended and its log is read to the end. It returns the run as
// it ended; ctx's error once ctx is done; fn's error when fn fails;
// ErrNotFound when the run is gone. A blocking read of the log lasts at most
// BlockTimeout, so cancelling ctx returns within one.
//
// While entries come, the run's state is not read: an entry of the run's
// end, or a read that timed out, makes Follow look.
func (s *Store) Follow(ctx context.Context, id, after string, fn func(Entry) error) (Run, error) {
	cursor := after
	if cursor == "" {
		cursor = "0"
	}
	run, err := s.Get(ctx, id)
	if err != nil {
		return Run{}, err
	}
	final := false // the entry of the run's end was delivered
	for {
		if err := ctx.Err(); err != nil {
			return Run{}, err
		}
		block := s.opts.BlockTimeout
		if ended := run.State.Terminal(); ended && final {
			block = -1 // XREAD without BLOCK: drain what is left
		} else if ended {
			block = min(block, endGrace)
		}
		entries, err := s.readLog(ctx, id, cursor, block)
		if err != nil {
			return Run{}, err
		}
		for _, e := range entries {
			if err := fn(e); err != nil {
				return Run{}, err
			}
			cursor = e.ID
			final = final || (e.State != nil && e.State.To.Terminal())
		}
		if run.State.Terminal() && len(entries) < followBatch && (final || len(entries) == 0) {
			return run, nil
		}
		if len(entries) == 0 || final {
			if run, err = s.Get(ctx, id); err != nil {
				return Run{}, err
			}
			final = final && run.State.Terminal() // a restarted run goes on
		}
	}
}

// readLog reads up to followBatch entries after cursor, waiting up to block
// for the first (block < 0: not at all).
func (s *Store) readLog(ctx context.Context, id, cursor string, block time.Duration) ([]Entry, error) {
	streams, err := s.rdb.XRead(ctx, &redis.XReadArgs{
		Streams: []string{s.eventsKey(id), cursor}, Count: followBatch, Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("follow run %s: %w", id, err)
	}
	var out []Entry
	for _, st := range streams {
		entries, err := decodeEntries(id, st.Messages)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
	}
	return out, nil
}

// recorded appends the transition that left run in its state to the run's
// log and tells Notify. The log entry is written after the transition's
// script, not in it: a crash in between loses the entry, never the state,
// and Follow reads the state itself.
func (s *Store) recorded(ctx context.Context, run Run, ev Event, by string) {
	e := Entry{Kind: KindState, Step: run.Step, State: &StateChange{To: run.State, Event: ev, Attempt: run.Attempt, By: by}}
	if run.State == StateFailed {
		e.State.Error = run.Error
	}
	if _, err := s.Append(context.WithoutCancel(ctx), run.ID, e); err != nil {
		s.log(ctx).Error(err, "recording a transition in the run's log failed", "run", run.ID, "event", ev)
	}
	s.notify(run)
}

// LastEventID is the id of the newest entry of run id's log, "" when it has
// none: a follower that reads the log from there misses nothing appended
// after this call.
func (s *Store) LastEventID(ctx context.Context, id string) (string, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.eventsKey(id), "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("read the end of the log of run %s: %w", id, err)
	}
	if len(msgs) == 0 {
		return "", nil
	}
	return msgs[0].ID, nil
}
