package account

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers"
)

func TestIdentityIsLearnedOnceAndFailuresAreNotKept(t *testing.T) {
	g := NewWithT(t)
	var calls atomic.Int32
	fail := atomic.Bool{}
	fail.Store(true)
	a := New(func(context.Context) (trackers.Identity, error) {
		calls.Add(1)
		if fail.Load() {
			return trackers.Identity{}, errors.New("tracker down")
		}
		return trackers.Identity{ID: "7", Name: "smith"}, nil
	})
	_, err := a.Get(context.Background())
	g.Expect(err).To(MatchError("tracker down"))

	fail.Store(false)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			id, err := a.Get(context.Background())
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(id.ID).To(Equal("7"))
		})
	}
	wg.Wait()
	g.Expect(calls.Load()).To(BeEquivalentTo(2), "one failed attempt, then one that is kept")
	id, ok := a.Cached()
	g.Expect(ok).To(BeTrue())
	g.Expect(id.Name).To(Equal("smith"))
}

func TestCachedLearnsInTheBackgroundAtMostOncePerGap(t *testing.T) {
	g := NewWithT(t)
	var calls atomic.Int32
	release := make(chan struct{})
	a := New(func(ctx context.Context) (trackers.Identity, error) {
		calls.Add(1)
		<-release
		return trackers.Identity{ID: "7"}, nil
	})
	now := time.Unix(1000, 0)
	a.now = func() time.Time { return now }
	for range 5 {
		_, ok := a.Cached()
		g.Expect(ok).To(BeFalse())
	}
	close(release)
	g.Eventually(func() bool { _, ok := a.Cached(); return ok }).WithTimeout(5 * time.Second).Should(BeTrue())
	g.Expect(calls.Load()).To(BeEquivalentTo(1))
}
