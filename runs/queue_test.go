package runs

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"
)

// finish drives a started run to succeeded as its owner would.
func finish(ctx context.Context, s *Store, r Run) error {
	for _, ev := range []Event{EventReady, EventPublish, EventSucceed} {
		if _, err := s.Apply(ctx, r.ID, ev, Update{Fence: r.Fence}); err != nil {
			return err
		}
	}
	return nil
}

func TestTwoConsumersReceiveEachRunExactlyOnce(t *testing.T) {
	const n = 60
	g := NewWithT(t)
	// Each consumer is its own replica: its own store and connection pool.
	a, rdb := newStore(t, Options{BlockTimeout: 50 * time.Millisecond})
	b, _ := newStore(t, Options{Prefix: a.opts.Prefix, BlockTimeout: 50 * time.Millisecond})
	ids := map[string]bool{}
	for i := range n {
		ids[submit(t, a, i)] = true
	}

	ctx, cancel := context.WithCancel(ctxT(t))
	var mu sync.Mutex
	deliveries := map[string][]string{}
	finished := 0
	var wg sync.WaitGroup
	for _, c := range []struct {
		store *Store
		name  string
	}{{a, "replica-a"}, {b, "replica-b"}} {
		wg.Go(func() {
			for {
				l, err := c.store.Dequeue(ctx, Owner{Name: c.name, UID: "uid-" + c.name})
				if err != nil {
					return
				}
				r := l.Run()
				mu.Lock()
				deliveries[r.ID] = append(deliveries[r.ID], c.name)
				mu.Unlock()
				if err := finish(ctx, c.store, r); err != nil {
					t.Errorf("finish %s: %v", r.ID, err)
					return
				}
				mu.Lock()
				finished++
				mu.Unlock()
			}
		})
	}
	// Stop the consumers once every run is finished, not merely taken: a
	// run still finishing would see its context end.
	g.Eventually(func() int { mu.Lock(); defer mu.Unlock(); return finished }).
		WithTimeout(20 * time.Second).Should(Equal(n))
	cancel()
	wg.Wait()

	perConsumer := map[string]int{}
	for id, by := range deliveries {
		g.Expect(ids).To(HaveKey(id))
		g.Expect(by).To(HaveLen(1), "run %s delivered to %v", id, by)
		perConsumer[by[0]]++
	}
	t.Logf("deliveries per consumer: %v", perConsumer)
	g.Expect(perConsumer).To(HaveLen(2), "both consumers took work")
	g.Expect(rdb.XLen(ctxT(t), a.queueKey()).Val()).To(BeZero(), "finished runs leave no queue entry")
	pending, err := rdb.XPending(ctxT(t), a.queueKey(), group).Result()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pending.Count).To(BeZero())
	succeeded, err := a.List(ctxT(t), StateSucceeded, 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(succeeded).To(HaveLen(n))
}

func TestDeadConsumersRunIsReclaimedAsTheNextAttempt(t *testing.T) {
	g := NewWithT(t)
	opts := Options{HeartbeatTTL: 300 * time.Millisecond, BlockTimeout: 50 * time.Millisecond}
	a, _ := newStore(t, opts)
	opts.Prefix = a.opts.Prefix
	b, _ := newStore(t, opts)
	ctx := ctxT(t)
	id := submit(t, a, 1)

	// Replica A takes the run, reaches a step, then dies: no heartbeat, no ack.
	lease, err := a.Dequeue(ctx, Owner{Name: "replica-a", UID: "uid-a"})
	g.Expect(err).NotTo(HaveOccurred())
	first := lease.Run()
	g.Expect(first).To(HaveField("Attempt", 1))
	_, err = a.Update(ctx, id, Update{Fence: first.Fence, Step: "plan"})
	g.Expect(err).NotTo(HaveOccurred())

	var got dequeued
	g.Eventually(dequeueAsync(ctx, b, Owner{Name: "replica-b", UID: "uid-b"})).
		WithTimeout(10 * time.Second).Should(Receive(&got))
	g.Expect(got.Err).NotTo(HaveOccurred())
	g.Expect(got.Run).To(And(
		HaveField("ID", id), HaveField("Attempt", 2), HaveField("Reclaims", 1),
		HaveField("State", StateStarting), HaveField("Owner", Owner{Name: "replica-b", UID: "uid-b"}),
	))

	// A comes back from the dead: it has lost the run and cannot touch it.
	g.Expect(got.Run.Fence).To(BeNumerically(">", first.Fence), "every start draws a larger fence")
	g.Expect(a.Heartbeat(ctx, id, first.Fence, "replica-a")).To(MatchError(ErrLeaseLost))
	_, err = a.Apply(ctx, id, EventReady, Update{Fence: first.Fence})
	g.Expect(err).To(MatchError(ErrLeaseLost))
	_, err = a.Update(ctx, id, Update{Fence: first.Fence, Step: "stale"})
	g.Expect(err).To(MatchError(ErrLeaseLost))
	g.Expect(lease.Guard(ctx)).To(MatchError(ErrLeaseLost), "the stale owner's guard refuses its next side effect")
	g.Expect(b.Heartbeat(ctx, id, got.Run.Fence, "replica-b")).To(Succeed())
	g.Expect(finish(ctx, b, got.Run)).To(Succeed())
}

func TestLiveHeartbeatIsNeverReclaimed(t *testing.T) {
	g := NewWithT(t)
	// The TTL leaves room for a loaded machine to delay a heartbeat; the
	// observation spans several TTLs.
	opts := Options{HeartbeatTTL: 1500 * time.Millisecond, BlockTimeout: 20 * time.Millisecond}
	a, _ := newStore(t, opts)
	opts.Prefix = a.opts.Prefix
	b, _ := newStore(t, opts)
	ctx := ctxT(t)
	id := submit(t, a, 1)
	lease, err := a.Dequeue(ctx, Owner{Name: "replica-a"})
	g.Expect(err).NotTo(HaveOccurred())
	run := lease.Run()

	alive, stop := context.WithCancel(ctx)
	kept := make(chan error, 1)
	go func() { kept <- lease.Keep(alive) }()

	// B keeps asking for work (and reclaiming) for many heartbeat TTLs of a
	// run much older than one TTL: it never gets it.
	bCtx, bStop := context.WithCancel(ctx)
	stolen := dequeueAsync(bCtx, b, Owner{Name: "replica-b"})
	g.Consistently(stolen).WithTimeout(5 * time.Second).WithPolling(50 * time.Millisecond).ShouldNot(Receive())
	current, err := a.Get(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(current).To(And(HaveField("Attempt", 1), HaveField("Owner.Name", "replica-a"), HaveField("State", StateStarting)))

	stop()
	g.Expect(<-kept).To(Succeed())
	g.Expect(finish(ctx, a, run)).To(Succeed())
	bStop()
	g.Eventually(stolen).WithTimeout(5 * time.Second).Should(Receive(HaveField("Err", MatchError(context.Canceled))))
}

func TestRunFailsOnceMaxAttemptsWereLost(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{HeartbeatTTL: 150 * time.Millisecond, BlockTimeout: 20 * time.Millisecond, MaxAttempts: 3})
	ctx := ctxT(t)
	id := submit(t, s, 1)

	// Three replicas take the run in turn and die during a step.
	for i, replica := range []string{"replica-1", "replica-2", "replica-3"} {
		var got dequeued
		g.Eventually(dequeueAsync(ctx, s, Owner{Name: replica})).WithTimeout(10 * time.Second).Should(Receive(&got))
		g.Expect(got.Err).NotTo(HaveOccurred())
		g.Expect(got.Run.Attempt).To(Equal(i + 1))
		_, err := s.Update(ctx, id, Update{Fence: got.Run.Fence, Step: "agentic-execute"})
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Eventually(func() (State, error) {
		if _, err := s.Reclaim(ctx, "housekeeper"); err != nil {
			return "", err
		}
		r, err := s.Get(ctx, id)
		return r.State, err
	}).WithTimeout(10 * time.Second).Should(Equal(StateFailed))

	run, err := s.Get(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(run.Error).To(Equal("gave up after 3 attempts: owner replica replica-3 stopped heartbeating during step agentic-execute"))
	g.Expect(run.Reclaims).To(Equal(3))
	g.Expect(run.Finalize).To(Equal(FinalizePending), "the ticket is told by the finalizer")
	g.Expect(run.StoppedFence).To(Equal(run.Fence), "nobody owns a run given up on: the finalizer need not wait")
	g.Expect(rdb.XLen(ctx, s.queueKey()).Val()).To(BeZero())
}

func TestHandBackIsPickedUpByAnotherConsumerAtOnce(t *testing.T) {
	g := NewWithT(t)
	// A heartbeat TTL and block timeout far beyond the test's deadline:
	// only an immediate hand-off can pass.
	opts := Options{HeartbeatTTL: 40 * time.Minute, BlockTimeout: 10 * time.Minute}
	a, rdb := newStore(t, opts)
	opts.Prefix = a.opts.Prefix
	b, _ := newStore(t, opts)
	ctx := ctxT(t)
	id := submit(t, a, 1)
	lease, err := a.Dequeue(ctx, Owner{Name: "replica-a"})
	g.Expect(err).NotTo(HaveOccurred())
	run := lease.Run()

	waiting := dequeueAsync(ctx, b, Owner{Name: "replica-b"})
	// B is blocked in XREADGROUP before the hand back.
	g.Eventually(func() (string, error) { return rdb.ClientList(ctx).Result() }).
		Should(MatchRegexp(`flags=b .*cmd=xreadgroup`))

	handed, err := a.HandBack(ctx, id, run.Fence)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(handed).To(And(HaveField("State", StateQueued), HaveField("Attempt", 2)))

	var got dequeued
	g.Eventually(waiting).WithTimeout(5 * time.Second).Should(Receive(&got))
	g.Expect(got.Err).NotTo(HaveOccurred())
	g.Expect(got.Run).To(And(HaveField("ID", id), HaveField("Attempt", 2), HaveField("Reclaims", 0), HaveField("Owner.Name", "replica-b")))
	g.Expect(a.Heartbeat(ctx, id, run.Fence, "replica-a")).To(MatchError(ErrLeaseLost))
}

func TestQueuedRunSurvivesRedisRestart(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{BlockTimeout: 100 * time.Millisecond})
	ctx := ctxT(t)
	id := submit(t, s, 1)

	g.Expect(server(t).Restart()).To(Succeed())
	g.Expect(seedPersistence(server(t))).To(Succeed())

	var got dequeued
	g.Eventually(dequeueAsync(ctx, s, Owner{Name: "replica-a"})).WithTimeout(10 * time.Second).Should(Receive(&got))
	g.Expect(got.Err).NotTo(HaveOccurred())
	g.Expect(got.Run).To(And(HaveField("ID", id), HaveField("State", StateStarting), HaveField("Attempt", 1)))
}

func TestRunReadButNeverStartedIsRequeuedWithoutLosingAnAttempt(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{HeartbeatTTL: 200 * time.Millisecond, BlockTimeout: 20 * time.Millisecond})
	ctx := ctxT(t)
	id := submit(t, s, 1)
	g.Expect(s.ensureGroup(ctx)).To(Succeed())
	// A consumer reads the entry and dies before starting the run.
	read, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "crashed", Streams: []string{s.queueKey(), ">"}, Count: 1}).Result()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(read[0].Messages).To(HaveLen(1))

	var got dequeued
	g.Eventually(dequeueAsync(ctx, s, Owner{Name: "replica-b"})).WithTimeout(10 * time.Second).Should(Receive(&got))
	g.Expect(got.Err).NotTo(HaveOccurred())
	g.Expect(got.Run).To(And(HaveField("ID", id), HaveField("Attempt", 1), HaveField("Reclaims", 0)))
}

func TestCancelledContextReturnsAReadEntryToTheQueue(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	id := submit(t, s, 1)
	g.Expect(s.ensureGroup(ctx)).To(Succeed())
	msgs, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "replica-a", Streams: []string{s.queueKey(), ">"}, Count: 1}).Result()
	g.Expect(err).NotTo(HaveOccurred())

	// The read raced with shutdown: take must give the entry back.
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, ok, err := s.take(done, msgs[0].Messages[0], Owner{Name: "replica-a"})
	g.Expect(err).To(MatchError(context.Canceled))
	g.Expect(ok).To(BeFalse())

	lease, err := s.Dequeue(ctx, Owner{Name: "replica-b"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(lease.Run()).To(And(HaveField("ID", id), HaveField("Attempt", 1), HaveField("Owner.Name", "replica-b")))
}

func TestCancelledQueuedRunIsNeverDelivered(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{BlockTimeout: 50 * time.Millisecond})
	ctx := ctxT(t)
	cancelled := submit(t, s, 1)
	next := submit(t, s, 2)
	_, err := s.Apply(ctx, cancelled, EventCancel, Update{Error: "ticket closed"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rdb.XLen(ctx, s.queueKey()).Val()).To(BeEquivalentTo(1))

	lease, err := s.Dequeue(ctx, Owner{Name: "replica-a"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(lease.Run().ID).To(Equal(next))
}
