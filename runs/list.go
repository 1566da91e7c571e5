package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Bounds of a Query.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
	// maxScan bounds the runs one Query reads to fill a page: a filter that
	// matches few runs returns a short page and a cursor to go on from.
	maxScan = 2000
)

// ErrBadCursor: the cursor is not one a Query returned.
var ErrBadCursor = errors.New("bad cursor")

// Filter selects runs for Query. Empty fields select everything.
type Filter struct {
	// States keeps the runs in any of these states.
	States  []State
	Project string
	// Ticket keeps the runs of this ticket id (of any tracker).
	Ticket string
	// Limit is the page size: DefaultPageSize when 0, at most MaxPageSize.
	Limit int
	// Cursor is the Next of the page before.
	Cursor string
}

// Page is one page of runs, newest first. Next is the cursor of the page
// that follows, "" at the end.
type Page struct {
	Runs []Run  `json:"runs"`
	Next string `json:"next,omitempty"`
}

// cursor is a position in the creation index: a run's score and id.
type cursor struct {
	score int64
	id    string
}

func (c cursor) String() string { return strconv.FormatInt(c.score, 10) + "_" + c.id }

func parseCursor(s string) (cursor, error) {
	ms, id, ok := strings.Cut(s, "_")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || !ValidID(id) {
		return cursor{}, fmt.Errorf("%w %q: pass the next of a page", ErrBadCursor, s)
	}
	return cursor{n, id}, nil
}

func (f Filter) matches(r Run) bool {
	return (len(f.States) == 0 || slices.Contains(f.States, r.State)) &&
		(f.Project == "" || r.Project == f.Project) &&
		(f.Ticket == "" || r.Ticket == f.Ticket)
}

// Query returns a page of the runs f selects, newest first (by creation),
// whatever their state. It walks the creation index a batch at a time and
// drops from it the runs whose retention has ended.
func (s *Store) Query(ctx context.Context, f Filter) (Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	var after *cursor
	upper := "+inf"
	if f.Cursor != "" {
		c, err := parseCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		after, upper = &c, strconv.FormatInt(c.score, 10)
	}
	var gone []any
	defer func() { s.unindex(ctx, gone) }()
	batch := int64(min(max(2*limit, 100), MaxPageSize))
	page := Page{Runs: []Run{}}
	var last cursor
	for offset := int64(0); offset < maxScan; offset += batch {
		members, err := s.rdb.ZRevRangeByScoreWithScores(ctx, s.createdKey(), &redis.ZRangeBy{
			Max: upper, Min: "-inf", Offset: offset, Count: batch,
		}).Result()
		if err != nil {
			return Page{}, fmt.Errorf("list runs: %w", err)
		}
		found, expired, err := s.pageOf(ctx, members, after, f)
		if err != nil {
			return Page{}, fmt.Errorf("list runs: %w", err)
		}
		gone = append(gone, expired...)
		for _, p := range found {
			if len(page.Runs) == limit {
				page.Next = last.String()
				return page, nil
			}
			page.Runs = append(page.Runs, p.run)
			last = p.at
		}
		if int64(len(members)) < batch {
			return page, nil // the index is read to its end
		}
		if n := len(members); len(page.Runs) < limit {
			id, _ := members[n-1].Member.(string)
			last = cursor{int64(members[n-1].Score), id}
		}
	}
	page.Next = last.String()
	return page, nil
}

// unindex drops runs whose retention has ended from the creation index.
func (s *Store) unindex(ctx context.Context, ids []any) {
	if len(ids) == 0 {
		return
	}
	if err := s.rdb.ZRem(context.WithoutCancel(ctx), s.createdKey(), ids...).Err(); err != nil {
		s.log(ctx).Error(err, "dropping expired runs from the creation index failed")
	}
}

type placed struct {
	run Run
	at  cursor
}

// pageOf reads the runs of one batch of the creation index and keeps those
// after the cursor that f selects; gone are the ids whose run expired.
func (s *Store) pageOf(ctx context.Context, members []redis.Z, after *cursor, f Filter) (out []placed, gone []any, err error) {
	pipe := s.rdb.Pipeline()
	type read struct {
		at  cursor
		cmd *redis.MapStringStringCmd
	}
	reads := make([]read, 0, len(members))
	for _, m := range members {
		id, _ := m.Member.(string)
		at := cursor{int64(m.Score), id}
		// Equal scores come in reverse id order: the ones from the
		// cursor's id on were on the pages before.
		if after != nil && at.score == after.score && id >= after.id {
			continue
		}
		reads = append(reads, read{at, pipe.HGetAll(ctx, s.runKey(id))})
	}
	if len(reads) == 0 {
		return nil, nil, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, err
	}
	for _, rd := range reads {
		if len(rd.cmd.Val()) == 0 {
			gone = append(gone, rd.at.id)
			continue
		}
		r, err := decodeRun(rd.cmd.Val())
		if err != nil {
			return nil, nil, err
		}
		if f.matches(r) {
			out = append(out, placed{r, rd.at})
		}
	}
	return out, gone, nil
}
