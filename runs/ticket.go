package runs

import (
	"context"
	"fmt"
)

// RecordOwnComment remembers that agent-smith posted comment commentID on
// the ticket. The id, not the comment's author, is what tells its own
// comments from people's on a tracker where agent-smith writes as a
// person (a personal token): such a comment never answers or starts a
// run (OwnComment).
func (s *Store) RecordOwnComment(ctx context.Context, tracker, ticket, commentID string) error {
	if commentID == "" {
		return nil
	}
	key := s.ticketOwnKey(tracker, ticket)
	pipe := s.rdb.TxPipeline()
	pipe.SAdd(ctx, key, commentID)
	pipe.PExpire(ctx, key, s.recordTTL())
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("record own comment %s on ticket %s: %w", commentID, ticket, err)
	}
	return nil
}

// OwnComment reports whether RecordOwnComment recorded commentID on the
// ticket.
func (s *Store) OwnComment(ctx context.Context, tracker, ticket, commentID string) (bool, error) {
	if commentID == "" {
		return false, nil
	}
	ok, err := s.rdb.SIsMember(ctx, s.ticketOwnKey(tracker, ticket), commentID).Result()
	if err != nil {
		return false, fmt.Errorf("look up own comment %s on ticket %s: %w", commentID, ticket, err)
	}
	return ok, nil
}
