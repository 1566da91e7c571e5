package memredis

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/runs"
)

func TestClientsWithoutThePasswordAreRefused(t *testing.T) {
	g := NewWithT(t)
	s, err := Start()
	g.Expect(err).NotTo(HaveOccurred())
	defer s.Close()
	anonymous := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer anonymous.Close()
	g.Expect(anonymous.Get(context.Background(), "x").Err()).To(MatchError(ContainSubstring("NOAUTH")))
	o, err := redis.ParseURL(s.URL())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.Password).To(HaveLen(64))
	c := redis.NewClient(o)
	defer c.Close()
	g.Expect(c.Set(context.Background(), "x", "1", 0).Err()).To(Succeed())
}

func TestKeysExpireInRealTime(t *testing.T) {
	g := NewWithT(t)
	s, err := Start()
	g.Expect(err).NotTo(HaveOccurred())
	defer s.Close()
	o, err := redis.ParseURL(s.URL())
	g.Expect(err).NotTo(HaveOccurred())
	c := redis.NewClient(o)
	defer c.Close()
	ctx := context.Background()

	g.Expect(c.Set(ctx, "heartbeat", "1", 300*time.Millisecond).Err()).To(Succeed())
	g.Expect(c.Exists(ctx, "heartbeat").Val()).To(Equal(int64(1)))
	g.Eventually(func() int64 { return c.Exists(ctx, "heartbeat").Val() }).
		WithTimeout(5 * time.Second).Should(BeZero())
}

// The run store's scripts and its stream consumer group work on the
// embedded server, so `serve` without REDIS_URL executes runs.
func TestRunStoreWorksOnEmbeddedServer(t *testing.T) {
	g := NewWithT(t)
	s, err := Start()
	g.Expect(err).NotTo(HaveOccurred())
	defer s.Close()
	o, _ := redis.ParseURL(s.URL())
	c := redis.NewClient(o)
	defer c.Close()
	ctx := context.Background()
	store, err := runs.NewStore(c, runs.Options{BlockTimeout: 50 * time.Millisecond, HeartbeatTTL: 300 * time.Millisecond})
	g.Expect(err).NotTo(HaveOccurred())

	sub := runs.Submission{DeliveryID: "d1", Project: "p", Pipeline: "fix-bug", Tracker: "t", Ticket: "1", Repos: []string{"api"}}
	res, err := store.Submit(ctx, sub)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Outcome).To(Equal(runs.OutcomeQueued))
	again, err := store.Submit(ctx, sub)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.Outcome).To(Equal(runs.OutcomeDuplicateDelivery))

	first, err := store.Dequeue(ctx, runs.Owner{Name: "a"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.Run().ID).To(Equal(res.RunID))

	// The owner dies: its heartbeat lapses and another consumer reclaims.
	g.Eventually(func() (int, error) { return store.Reclaim(ctx, "b") }).
		WithTimeout(5 * time.Second).Should(Equal(1))
	next, err := store.Dequeue(ctx, runs.Owner{Name: "b"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(next.Run().Attempt).To(Equal(2))
	g.Expect(next.Fence()).To(BeNumerically(">", first.Fence()))
	g.Expect(next.Guard(ctx)).To(Succeed())
	for _, ev := range []runs.Event{runs.EventReady, runs.EventPublish, runs.EventSucceed} {
		_, err := next.Apply(ctx, ev, runs.Update{})
		g.Expect(err).NotTo(HaveOccurred())
	}
	done, err := store.Get(ctx, res.RunID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(done.State).To(Equal(runs.StateSucceeded))

	// The finalizer's outbox works on the embedded server too.
	e, ok, err := store.NextFinalize(ctx, "a")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue())
	g.Expect(store.Finalized(ctx, e, runs.FinalizeDone, "")).To(Succeed())
	active, err := store.ActiveRun(ctx, "t", "1")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(active).To(BeEmpty())
}
