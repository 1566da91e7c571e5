package runs

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"
)

// slowHeartbeat is an hour's heartbeat TTL: an owner renews every 20
// minutes, so an owner that stops within seconds learned of the cancel
// from the cancel channel (or the renewal that follows a subscription).
var slowHeartbeat = Options{HeartbeatTTL: time.Hour}

// twoReplicas are two stores on one Redis under one prefix, each with its
// own connection pool, as two replicas have.
func twoReplicas(t *testing.T) (a, b *Store, rdb *redis.Client) {
	t.Helper()
	a, rdb = newStore(t, slowHeartbeat)
	opts := slowHeartbeat
	opts.Prefix = a.opts.Prefix
	b, err := NewStore(server(t).Client(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return a, b, rdb
}

// keep binds and keeps lease until the test ends, once its store listens
// for cancels; it returns the bound context.
func keep(t *testing.T, g Gomega, s *Store, rdb *redis.Client, lease *Lease) context.Context {
	t.Helper()
	work := lease.Bind(context.Background())
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { stop(); <-done })
	go func() { defer close(done); _ = lease.Keep(ctx) }()
	g.Eventually(func() int64 { return subscribers(rdb, s.cancelChannel()) }).WithTimeout(10*time.Second).
		Should(BeEquivalentTo(1), "the owner's store listens for cancels")
	return work
}

func subscribers(rdb *redis.Client, channel string) int64 {
	n, _ := rdb.PubSubNumSub(context.Background(), channel).Result()
	return n[channel]
}

func TestCancelOnAnotherReplicaEndsTheOwnersLeaseLongBeforeItsHeartbeat(t *testing.T) {
	g := NewWithT(t)
	a, b, rdb := twoReplicas(t)
	lease := startLease(t, a, 1, "replica-a")
	work := keep(t, g, a, rdb, lease)

	_, err := b.Cancel(ctxT(t), lease.Run().ID, "alice", "wrong ticket")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(work.Done()).WithTimeout(5*time.Second).Should(BeClosed(),
		"within seconds; the next heartbeat is %s away", a.HeartbeatInterval())
	g.Expect(context.Cause(work)).To(MatchError(ErrCancelled))
	g.Expect(lease.Err()).To(MatchError(ErrCancelled))
}

func TestCancelNoticeLeavesOtherRunsAndStartsAlone(t *testing.T) {
	g := NewWithT(t)
	a, b, rdb := twoReplicas(t)
	kept := startLease(t, a, 1, "replica-a")
	work := keep(t, g, a, rdb, kept)
	other := startRun(t, b, 2, "replica-b")

	_, err := a.Cancel(ctxT(t), other.ID, "alice", "")
	g.Expect(err).NotTo(HaveOccurred())
	// A notice for a run this store holds, but that is still its start's
	// and active, changes nothing: the run's record decides.
	g.Expect(rdb.Publish(ctxT(t), a.cancelChannel(), kept.Run().ID).Err()).To(Succeed())
	g.Consistently(work.Done()).WithTimeout(300 * time.Millisecond).ShouldNot(BeClosed())
	g.Expect(kept.Err()).NotTo(HaveOccurred())
}

func TestACancelTheSubscriptionMissedIsFoundWhenItComesBack(t *testing.T) {
	g := NewWithT(t)
	a, b, rdb := twoReplicas(t)
	lease := startLease(t, a, 1, "replica-a")
	work := keep(t, g, a, rdb, lease)

	// The run is cancelled without a notice (as if it went by while the
	// subscription was down), then the subscription's connection drops.
	_, err := b.Apply(ctxT(t), lease.Run().ID, EventCancel, Update{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Consistently(work.Done()).WithTimeout(200*time.Millisecond).ShouldNot(BeClosed(), "nothing told the owner yet")
	g.Expect(rdb.ClientKillByFilter(ctxT(t), "TYPE", "pubsub").Err()).To(Succeed())
	g.Eventually(work.Done()).WithTimeout(5 * time.Second).Should(BeClosed())
	g.Expect(context.Cause(work)).To(MatchError(ErrCancelled))
}

func TestTheCancelSubscriptionIsHeldOnlyWhileLeasesAreKept(t *testing.T) {
	g := NewWithT(t)
	a, _, rdb := twoReplicas(t)
	first, second := startLease(t, a, 1, "replica-a"), startLease(t, a, 2, "replica-a")
	ctx1, stop1 := context.WithCancel(context.Background())
	ctx2, stop2 := context.WithCancel(context.Background())
	done1, done2 := make(chan struct{}), make(chan struct{})
	go func() { defer close(done1); _ = first.Keep(ctx1) }()
	go func() { defer close(done2); _ = second.Keep(ctx2) }()
	g.Eventually(func() int64 { return subscribers(rdb, a.cancelChannel()) }).WithTimeout(10*time.Second).Should(BeEquivalentTo(1), "one subscription per store")

	stop1()
	<-done1
	g.Consistently(func() int64 { return subscribers(rdb, a.cancelChannel()) }).WithTimeout(200*time.Millisecond).Should(BeEquivalentTo(1), "a lease is still kept")
	stop2()
	<-done2
	g.Eventually(func() int64 { return subscribers(rdb, a.cancelChannel()) }).WithTimeout(10 * time.Second).Should(BeZero())
}
