package runs

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gstruct"
	"github.com/redis/go-redis/v9"
)

func TestSubmitOutcomes(t *testing.T) {
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	g := NewWithT(t)
	withDelivery := func(n int, delivery string) Submission {
		sub := ticket(n)
		sub.DeliveryID = delivery
		return sub
	}

	first, err := s.Submit(ctx, withDelivery(1, "d-1"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.Outcome).To(Equal(OutcomeQueued))
	g.Expect(ValidID(first.RunID)).To(BeTrue())

	steps := []struct {
		name    string
		sub     Submission
		outcome Outcome
		runID   string // "" = a new run
	}{
		{"redelivery", withDelivery(1, "d-1"), OutcomeDuplicateDelivery, first.RunID},
		{"new delivery for the active ticket", withDelivery(1, "d-2"), OutcomeTicketActive, first.RunID},
		{"redelivery of that one", withDelivery(1, "d-2"), OutcomeDuplicateDelivery, first.RunID},
		{"poll of the active ticket", withDelivery(1, ""), OutcomeTicketActive, first.RunID},
		{"same delivery id from another tracker", func() Submission { s := withDelivery(2, "d-1"); s.Tracker = "gitlab"; return s }(), OutcomeQueued, ""},
		{"another ticket by poll", withDelivery(3, ""), OutcomeQueued, ""},
	}
	for _, st := range steps {
		res, err := s.Submit(ctx, st.sub)
		g.Expect(err).NotTo(HaveOccurred(), st.name)
		g.Expect(res.Outcome).To(Equal(st.outcome), st.name)
		if st.runID != "" {
			g.Expect(res.RunID).To(Equal(st.runID), st.name)
		} else {
			g.Expect(res.RunID).NotTo(Equal(first.RunID), st.name)
		}
	}

	run, err := s.Get(ctx, first.RunID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(run).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
		"State": Equal(StateQueued), "Attempt": Equal(1), "Project": Equal("shop"),
		"Pipeline": Equal("fix-bug"), "Tracker": Equal("github"), "Ticket": Equal("acme/shop#1"),
		"Repos": Equal([]string{"shop-api", "shop-web"}), "Labels": Equal([]string{"agent-smith"}),
		"DeliveryID": Equal("d-1"), "TicketTitle": Equal("Checkout fails"),
	}))
	g.Expect(run.CreatedAt).To(BeTemporally("~", time.Now(), time.Minute))
	g.Expect(rdb.XLen(ctx, s.queueKey()).Val()).To(BeEquivalentTo(3), "one queue entry per queued run")
	g.Expect(rdb.PTTL(ctx, s.deliveryKey("github", "d-1")).Val()).To(BeNumerically(">", 71*time.Hour))

	// Once the run is over the ticket can be worked again, while its old
	// delivery is still remembered.
	_, err = s.Apply(ctx, first.RunID, EventCancel, Update{Error: "closed"})
	g.Expect(err).NotTo(HaveOccurred())
	finalized(t, s, first.RunID)
	again, err := s.Submit(ctx, withDelivery(1, "d-3"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.Outcome).To(Equal(OutcomeQueued))
	g.Expect(again.RunID).NotTo(Equal(first.RunID))
	old, err := s.Submit(ctx, withDelivery(1, "d-1"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(old).To(Equal(SubmitResult{Outcome: OutcomeDuplicateDelivery, RunID: first.RunID}))
}

func TestSubmitRejectsIncompleteSubmissions(t *testing.T) {
	s, rdb := newStore(t, Options{})
	for _, tc := range []struct {
		name   string
		change func(*Submission)
		want   string
	}{
		{"no project", func(s *Submission) { s.Project = "" }, "project is empty"},
		{"no pipeline", func(s *Submission) { s.Pipeline = " " }, "pipeline is empty"},
		{"no tracker", func(s *Submission) { s.Tracker = "" }, "tracker is empty"},
		{"no ticket", func(s *Submission) { s.Ticket = "" }, "ticket is empty"},
		{"no repos", func(s *Submission) { s.Repos = nil }, "no repositories"},
		{"repo with a colon", func(s *Submission) { s.Repos = []string{"a:b"} }, `"a:b"`},
	} {
		sub := ticket(1)
		tc.change(&sub)
		_, err := s.Submit(ctxT(t), sub)
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.want)), tc.name)
	}
	NewWithT(t).Expect(rdb.Keys(ctxT(t), s.opts.Prefix+"*").Val()).To(BeEmpty(), "nothing written")
}

func TestConcurrentSubmissionsOfOneTicketCreateOneRun(t *testing.T) {
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	// 50 arrivals of one ticket: webhook deliveries, their redeliveries and
	// poller hits, all at once.
	subs := make([]Submission, 50)
	for i := range subs {
		subs[i] = ticket(7)
		switch i % 3 {
		case 0:
			subs[i].DeliveryID = "hook-" + strconv.Itoa(i)
		case 1:
			subs[i].DeliveryID = "hook-" + strconv.Itoa(i-1) // redelivery
		}
	}
	results := make([]SubmitResult, len(subs))
	errs := make([]error, len(subs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range subs {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.Submit(ctx, subs[i])
		})
	}
	close(start)
	wg.Wait()

	g := NewWithT(t)
	queued := 0
	runIDs := map[string]bool{}
	for i, res := range results {
		g.Expect(errs[i]).NotTo(HaveOccurred())
		if res.Outcome == OutcomeQueued {
			queued++
		}
		runIDs[res.RunID] = true
	}
	g.Expect(queued).To(Equal(1))
	g.Expect(runIDs).To(HaveLen(1), "every arrival names the one run")
	g.Expect(rdb.XLen(ctx, s.queueKey()).Val()).To(BeEquivalentTo(1))
	g.Expect(rdb.ZCard(ctx, s.indexKey(StateQueued)).Val()).To(BeEquivalentTo(1))
	keys := rdb.Keys(ctx, s.opts.Prefix+"run:*").Val()
	g.Expect(keys).To(ConsistOf(s.runKey(results[0].RunID), s.eventsKey(results[0].RunID)), "one run and its log")
}

func TestSubmitDrawsAnotherIDOnCollision(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	taken := submit(t, s, 1)
	fresh := NewID(time.Now())
	draws := []string{taken, taken, fresh}
	s.newID = func(time.Time) string {
		id := draws[0]
		draws = draws[1:]
		return id
	}
	res, err := s.Submit(ctx, ticket(2))
	g := NewWithT(t)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(SubmitResult{Outcome: OutcomeQueued, RunID: fresh}))
	first, err := s.Get(ctx, taken)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.Ticket).To(Equal("acme/shop#1"), "the earlier run is untouched")
}

func TestRedisHoldsNoSecretsOfARun(t *testing.T) {
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	g := NewWithT(t)
	const token = "ghs_abcdefghijklmnopqrstuvwxyz0123"
	sub := ticket(1)
	sub.TicketURL = "https://x-access-token:" + token + "@github.com/acme/shop/issues/1"
	sub.TriggerComment = "/agent-smith fix-bug with token " + token
	res, err := s.Submit(ctx, sub)
	g.Expect(err).NotTo(HaveOccurred())
	lease, err := s.Dequeue(ctx, Owner{Name: "replica-a"})
	g.Expect(err).NotTo(HaveOccurred())
	run := lease.Run()
	g.Expect(s.AppendProgress(ctx, run.ID, "checkout", "git clone https://x-access-token:"+token+"@github.com/acme/shop.git")).To(Succeed())
	_, err = s.Update(ctx, run.ID, Update{Fence: lease.Fence(), PullRequests: map[string]string{"shop-api": "https://u:" + token + "@github.com/acme/shop/pull/3"}})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = s.Apply(ctx, res.RunID, EventFail, Update{Fence: lease.Fence(), Error: "push: remote: Invalid username or token " + token})
	g.Expect(err).NotTo(HaveOccurred())

	dump := dumpKeys(t, rdb, s.opts.Prefix)
	g.Expect(dump).To(ContainSubstring("github.com/acme/shop"), "the dump holds the run")
	g.Expect(dump).NotTo(ContainSubstring(token))
}

// dumpKeys renders every key under prefix and its value as text.
func dumpKeys(t testing.TB, rdb *redis.Client, prefix string) string {
	t.Helper()
	ctx := ctxT(t)
	var b strings.Builder
	for _, key := range rdb.Keys(ctx, prefix+"*").Val() {
		fmt.Fprintln(&b, key)
		switch rdb.Type(ctx, key).Val() {
		case "string":
			fmt.Fprintln(&b, rdb.Get(ctx, key).Val())
		case "hash":
			fmt.Fprintln(&b, rdb.HGetAll(ctx, key).Val())
		case "stream":
			fmt.Fprintln(&b, rdb.XRange(ctx, key, "-", "+").Val())
		case "zset":
			fmt.Fprintln(&b, rdb.ZRange(ctx, key, 0, -1).Val())
		case "set":
			fmt.Fprintln(&b, rdb.SMembers(ctx, key).Val())
		default:
			t.Fatalf("dump: key %s has unexpected type", key)
		}
	}
	return b.String()
}
