package runs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AppendProgress adds a line to run id's event stream (capped at
// EventLimit; a finished run's stream expires with the run).
func (s *Store) AppendProgress(ctx context.Context, id, step, message string) error {
	return s.appendProgress(ctx, id, 0, step, message)
}

// appendProgress adds a line for the owner of fence (0: anyone); a stale
// owner's line is refused with ErrLeaseLost.
func (s *Store) appendProgress(ctx context.Context, id string, fence int64, step, message string) error {
	reply, err := s.run(ctx, progressScript, []string{s.runKey(id), s.eventsKey(id)},
		strconv.FormatInt(s.opts.EventLimit, 10), redact(step), redact(message), strconv.FormatInt(fence, 10)).Result()
	if err != nil {
		return fmt.Errorf("append progress to run %s: %w", id, err)
	}
	st, _, err := status(reply)
	switch {
	case err != nil:
		return fmt.Errorf("append progress to run %s: %w", id, err)
	case st == "missing":
		return fmt.Errorf("append progress to run %s: %w", id, ErrNotFound)
	case st == "lost":
		return fmt.Errorf("append progress to run %s: %w: it was started again since fence %d", id, ErrLeaseLost, fence)
	}
	return nil
}

// Progress returns up to limit lines (limit <= 0: all) of run id's event
// stream after the line with id after ("" = from the start), oldest first.
func (s *Store) Progress(ctx context.Context, id, after string, limit int64) ([]Progress, error) {
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
		return nil, fmt.Errorf("read progress of run %s: %w", id, err)
	}
	out := make([]Progress, 0, len(msgs))
	for _, m := range msgs {
		p := Progress{ID: m.ID}
		p.Step, _ = m.Values["step"].(string)
		p.Message, _ = m.Values["msg"].(string)
		if msec, _, ok := strings.Cut(m.ID, "-"); ok {
			if n, err := strconv.ParseInt(msec, 10, 64); err == nil {
				p.Time = time.UnixMilli(n).UTC()
			}
		}
		out = append(out, p)
	}
	return out, nil
}
