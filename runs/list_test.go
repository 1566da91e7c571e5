package runs

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"
)

// pageIDs walks every page of f and returns the ids in order.
func pageIDs(t *testing.T, s *Store, f Filter) []string {
	t.Helper()
	g := NewWithT(t)
	var ids []string
	for range 100 {
		p, err := s.Query(ctxT(t), f)
		g.Expect(err).NotTo(HaveOccurred())
		for _, r := range p.Runs {
			ids = append(ids, r.ID)
		}
		if p.Next == "" {
			return ids
		}
		f.Cursor = p.Next
	}
	t.Fatal("more than 100 pages")
	return nil
}

func TestQueryPagesThroughEveryRunNewestFirst(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	var ids []string // oldest first
	for n := range 7 {
		sub := ticket(n)
		if n%2 == 1 {
			sub.Project = "docs"
		}
		res, err := s.Submit(ctx, sub)
		g.Expect(err).NotTo(HaveOccurred())
		ids = append(ids, res.RunID)
	}
	failed, err := s.Dequeue(ctx, Owner{Name: "replica-a"}) // the oldest
	g.Expect(err).NotTo(HaveOccurred())
	_, err = s.Apply(ctx, failed.Run().ID, EventFail, Update{Fence: failed.Fence(), Error: "boom"})
	g.Expect(err).NotTo(HaveOccurred())
	newestFirst := []string{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}

	g.Expect(pageIDs(t, s, Filter{Limit: 3})).To(Equal(newestFirst), "all states, finished ones included")
	g.Expect(pageIDs(t, s, Filter{Limit: 2, Project: "docs"})).To(Equal([]string{ids[5], ids[3], ids[1]}))
	g.Expect(pageIDs(t, s, Filter{States: []State{StateFailed}})).To(Equal([]string{ids[0]}))
	g.Expect(pageIDs(t, s, Filter{Ticket: "acme/shop#4"})).To(Equal([]string{ids[4]}))

	// Runs created in the same millisecond page by id, none lost or repeated.
	for _, id := range ids {
		g.Expect(rdb.ZAdd(ctx, s.createdKey(), redis.Z{Score: 1000, Member: id}).Err()).To(Succeed())
	}
	g.Expect(pageIDs(t, s, Filter{Limit: 2})).To(ConsistOf(ids))

	// A run whose retention ended leaves the index as the list passes it.
	g.Expect(rdb.Del(ctx, s.runKey(ids[2])).Err()).To(Succeed())
	g.Expect(pageIDs(t, s, Filter{})).NotTo(ContainElement(ids[2]))
	g.Expect(rdb.ZScore(ctx, s.createdKey(), ids[2]).Err()).To(MatchError(redis.Nil))

	for _, bad := range []string{"x", "12_notanid", "_20260101-000000-abcd"} {
		_, err := s.Query(ctx, Filter{Cursor: bad})
		g.Expect(err).To(MatchError(ErrBadCursor), bad)
	}
}
