package retry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers/internal/retry"
	"github.com/agent-smith/agent-smith/trackers/internal/retry/retrytest"
)

var errRefused = errors.New("refused")

// script is a tracker whose decision is fixed: every failure gets want.
func script(want retry.Decision) retry.Policy {
	return retry.Policy{Tracker: "GitHub", Attempts: 5, MaxWait: 10 * time.Minute,
		Decide: func(error, int, bool, time.Time) retry.Decision { return want }}
}

// failing is a call that fails n times with errRefused, then succeeds,
// and counts how often it was sent.
type failing struct {
	n, sent int
}

func (f *failing) call(context.Context) error {
	f.sent++
	if f.sent <= f.n {
		return errRefused
	}
	return nil
}

// trace is the order of what happened: sends and waits.
type trace struct {
	mu     sync.Mutex
	events []string
}

func (tr *trace) add(e string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.events = append(tr.events, e)
}

func (tr *trace) all() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.events...)
}

// standStill installs a clock that records waits in tr but does not move,
// as for calls that start while another one is still waiting out a limit.
func (tr *trace) standStill(c *retry.Caller) {
	now := time.Now()
	c.Now = func() time.Time { return now }
	c.Sleep = func(ctx context.Context, d time.Duration) error {
		tr.add("wait " + d.String())
		return ctx.Err()
	}
}

// sends is a call that records its sending as name and fails the first
// fails times.
func (tr *trace) sends(name string, fails int) func(context.Context) error {
	f := &failing{n: fails}
	return func(ctx context.Context) error {
		tr.add(name)
		return f.call(ctx)
	}
}

func TestARateLimitHoldsBackEveryCallOfTheClient(t *testing.T) {
	g := NewWithT(t)
	c := retry.New(script(retry.Decision{Retry: true, RateLimited: true, Wait: 9 * time.Second}))
	tr := &trace{}
	tr.standStill(c)
	g.Expect(c.Call(context.Background(), "get issue", true, tr.sends("get", 1))).To(Succeed())
	g.Expect(c.Call(context.Background(), "comment", false, tr.sends("comment", 0))).To(Succeed())
	g.Expect(tr.all()).To(Equal([]string{"get", "wait 9s", "get", "wait 9s", "comment"}),
		"a call that did not fail waits for the window before it is sent")
}

func TestOtherWaitsDelayOnlyTheFailedCall(t *testing.T) {
	g := NewWithT(t)
	c := retry.New(script(retry.Decision{Retry: true, Wait: time.Second}))
	tr := &trace{}
	tr.standStill(c)
	g.Expect(c.Call(context.Background(), "get issue", true, tr.sends("get", 1))).To(Succeed())
	g.Expect(c.Call(context.Background(), "comment", false, tr.sends("comment", 0))).To(Succeed())
	g.Expect(tr.all()).To(Equal([]string{"get", "wait 1s", "get", "comment"}))
}

func TestAPauseHoldsBackTheNextCallUntilItIsOver(t *testing.T) {
	cases := []struct {
		name   string
		pauses []time.Duration
		want   time.Duration
	}{
		{"one pause", []time.Duration{4 * time.Second}, 4 * time.Second},
		{"a shorter pause keeps the longer one", []time.Duration{10 * time.Second, 3 * time.Second}, 10 * time.Second},
		{"a longer pause extends it", []time.Duration{3 * time.Second, 10 * time.Second}, 10 * time.Second},
		{"no pause is longer than a call may wait", []time.Duration{time.Hour}, 10 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			c := retry.New(script(retry.Decision{}))
			clock := &retrytest.Clock{}
			clock.Install(c)
			for _, d := range tc.pauses {
				c.Pause(d)
			}
			var sentAfter []time.Duration
			call := func(context.Context) error { sentAfter = append(sentAfter, sum(clock.Waits())); return nil }
			g.Expect(c.Call(context.Background(), "get issue", true, call)).To(Succeed())
			g.Expect(clock.Waits()).To(Equal([]time.Duration{tc.want}), "the call waited before it was sent")
			g.Expect(c.Call(context.Background(), "get issue", true, call)).To(Succeed())
			g.Expect(clock.Waits()).To(HaveLen(1), "once waited out, the pause is over")
			g.Expect(sentAfter).To(Equal([]time.Duration{tc.want, tc.want}))
		})
	}
}

func sum(ds []time.Duration) time.Duration {
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s
}

func TestAWaitLongerThanTheCapFailsWithoutWaiting(t *testing.T) {
	g := NewWithT(t)
	c := retry.New(script(retry.Decision{Retry: true, RateLimited: true, Wait: time.Hour}))
	clock := &retrytest.Clock{}
	clock.Install(c)
	f := &failing{n: 1}
	err := c.Call(context.Background(), "get issue 7", true, f.call)
	g.Expect(err).To(MatchError("get issue 7: GitHub asks to wait 1h0m0s, longer than the 10m0s a call may wait: refused"))
	g.Expect(err).To(MatchError(errRefused))
	g.Expect(clock.Waits()).To(BeEmpty())
	g.Expect(f.sent).To(Equal(1))
	g.Expect(c.Call(context.Background(), "get issue 7", true, f.call)).To(Succeed(), "the refused wait does not pause the client")
	g.Expect(clock.Waits()).To(BeEmpty())
}

func TestRetriesStopAtTheLastAttempt(t *testing.T) {
	g := NewWithT(t)
	type seen struct {
		attempt    int
		idempotent bool
	}
	var decided []seen
	p := script(retry.Decision{})
	p.Decide = func(err error, attempt int, idempotent bool, _ time.Time) retry.Decision {
		decided = append(decided, seen{attempt, idempotent})
		return retry.Decision{Retry: true, Wait: time.Duration(attempt) * time.Second}
	}
	c := retry.New(p)
	clock := &retrytest.Clock{}
	clock.Install(c)
	f := &failing{n: 100}
	err := c.Call(context.Background(), "list comments", true, f.call)
	g.Expect(err).To(MatchError("list comments: refused"))
	g.Expect(f.sent).To(Equal(5))
	g.Expect(clock.Waits()).To(Equal([]time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second}))
	g.Expect(decided).To(Equal([]seen{{1, true}, {2, true}, {3, true}, {4, true}, {5, true}}))
}

func TestAFailureTheTrackerCallsFinalIsNotRetried(t *testing.T) {
	g := NewWithT(t)
	c := retry.New(script(retry.Decision{}))
	clock := &retrytest.Clock{}
	clock.Install(c)
	f := &failing{n: 1}
	g.Expect(c.Call(context.Background(), "comment on issue 7", false, f.call)).To(MatchError("comment on issue 7: refused"))
	g.Expect(f.sent).To(Equal(1))
	g.Expect(clock.Waits()).To(BeEmpty())
}

func TestACancelledCallIsNotRetried(t *testing.T) {
	g := NewWithT(t)
	c := retry.New(script(retry.Decision{Retry: true, Wait: time.Second}))
	clock := &retrytest.Clock{}
	clock.Install(c)
	ctx, cancel := context.WithCancel(context.Background())
	sent := 0
	err := c.Call(ctx, "get issue", true, func(context.Context) error {
		sent++
		cancel()
		return fmt.Errorf("get: %w", context.Canceled)
	})
	g.Expect(err).To(MatchError(context.Canceled))
	g.Expect(sent).To(Equal(1))
	g.Expect(clock.Waits()).To(BeEmpty())
}

func TestWaitsEndWithTheContext(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := retry.New(script(retry.Decision{}))
	g.Expect(c.Sleep(ctx, time.Hour)).To(MatchError(context.Canceled))

	c.Pause(time.Minute)
	sent := false
	err := c.Call(ctx, "get issue", true, func(context.Context) error { sent = true; return nil })
	g.Expect(err).To(MatchError(context.Canceled))
	g.Expect(err).To(MatchError(HavePrefix("get issue: ")))
	g.Expect(sent).To(BeFalse(), "a call held back by a pause is not sent once its context ends")
}

func TestEveryRetryIsLoggedAtVerbosityOne(t *testing.T) {
	g := NewWithT(t)
	var lines []string
	log := funcr.New(func(_, args string) { lines = append(lines, args) }, funcr.Options{Verbosity: 1})
	c := retry.New(script(retry.Decision{Retry: true, Wait: 2 * time.Second}))
	clock := &retrytest.Clock{}
	clock.Install(c)
	f := &failing{n: 1}
	g.Expect(c.Call(logr.NewContext(context.Background(), log), "get issue 7", true, f.call)).To(Succeed())
	g.Expect(lines).To(HaveLen(1))
	for _, want := range []string{`"level"=1`, `"msg"="GitHub call will be retried"`, `"call"="get issue 7"`, `"attempt"=1`,
		`"wait"="2s"`, `"rateLimited"=false`, `"error"="refused"`} {
		g.Expect(lines[0]).To(ContainSubstring(want))
	}
}
