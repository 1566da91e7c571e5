package llm

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// flaky answers with the errors in order, then with ok.
type flaky struct {
	errs  []error
	calls int
}

func (f *flaky) Chat(ctx context.Context, _ *Request) (*Response, error) {
	f.calls++
	if f.calls <= len(f.errs) {
		return nil, f.errs[f.calls-1]
	}
	return &Response{Text: "ok"}, nil
}

// recordingRetrier is WithRetry with its waits recorded instead of slept.
func recordingRetrier(p Provider, policy RetryPolicy) (*retrier, *[]time.Duration) {
	var waits []time.Duration
	r := &retrier{next: p, policy: policy, rnd: func() float64 { return 0.5 }, sleep: func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}}
	return r, &waits
}

var testPolicy = RetryPolicy{MaxRetries: 3, InitialDelay: 100 * time.Millisecond, Multiplier: 2, MaxDelay: time.Second}

func TestRetryWaitsOutThrottlingAndHonoursRetryAfter(t *testing.T) {
	g := NewWithT(t)
	p := &flaky{errs: []error{
		&APIError{StatusCode: 429, RetryAfter: 7 * time.Second, Retryable: true},
		&APIError{StatusCode: 529, Type: "overloaded_error", Retryable: true},
		&APIError{StatusCode: 503, Retryable: true},
	}}
	r, waits := recordingRetrier(p, testPolicy)
	resp, err := r.Chat(context.Background(), &Request{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Text).To(Equal("ok"))
	g.Expect(p.calls).To(Equal(4))
	// Retry-After raises the first wait; the others follow the backoff
	// (with the jitter pinned at the middle of the upper half).
	g.Expect(*waits).To(Equal([]time.Duration{7 * time.Second, 150 * time.Millisecond, 300 * time.Millisecond}))
}

func TestRetryGivesUpAfterMaxRetries(t *testing.T) {
	g := NewWithT(t)
	throttled := &APIError{StatusCode: 429, Retryable: true}
	p := &flaky{errs: []error{throttled, throttled, throttled, throttled, throttled}}
	r, waits := recordingRetrier(p, testPolicy)
	_, err := r.Chat(context.Background(), &Request{})
	g.Expect(err).To(MatchError(ContainSubstring("gave up after 4 attempts")))
	g.Expect(errors.Is(err, throttled)).To(BeTrue())
	g.Expect(p.calls).To(Equal(4))
	g.Expect(*waits).To(HaveLen(3))
}

func TestRetryLeavesPermanentErrorsAlone(t *testing.T) {
	for name, err := range map[string]error{
		"bad request":    &APIError{StatusCode: 400},
		"quota":          &APIError{StatusCode: 429, Type: "insufficient_quota", Retryable: false},
		"context length": &ContextLengthError{Provider: "x", Message: "too long"},
		"budget":         &BudgetError{Cap: "cost"},
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			p := &flaky{errs: []error{err}}
			r, waits := recordingRetrier(p, testPolicy)
			_, got := r.Chat(context.Background(), &Request{})
			g.Expect(got).To(Equal(err))
			g.Expect(p.calls).To(Equal(1))
			g.Expect(*waits).To(BeEmpty())
		})
	}
}

func TestRetryRetriesTransportFailures(t *testing.T) {
	g := NewWithT(t)
	p := &flaky{errs: []error{&TransportError{Provider: "x", Err: errors.New("connection reset")}}}
	r, _ := recordingRetrier(p, testPolicy)
	_, err := r.Chat(context.Background(), &Request{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.calls).To(Equal(2))
}

func TestBackoffGrowsExponentiallyWithinTheCap(t *testing.T) {
	policy := RetryPolicy{InitialDelay: time.Second, Multiplier: 2, MaxDelay: 5 * time.Second}
	for _, tc := range []struct {
		attempt  int
		low, top time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{4, 2500 * time.Millisecond, 5 * time.Second}, // capped at MaxDelay
		{9, 2500 * time.Millisecond, 5 * time.Second},
	} {
		g := NewWithT(t)
		g.Expect(policy.Backoff(tc.attempt, 0, func() float64 { return 0 })).To(Equal(tc.low), "attempt %d, no jitter", tc.attempt)
		g.Expect(policy.Backoff(tc.attempt, 0, func() float64 { return 0.999999 })).To(BeNumerically("~", tc.top, time.Millisecond), "attempt %d, full jitter", tc.attempt)
	}
}

func TestEachAttemptIsBoundByTheRequestTimeout(t *testing.T) {
	g := NewWithT(t)
	calls := 0
	hang := ProviderFunc(func(ctx context.Context, _ *Request) (*Response, error) {
		calls++
		<-ctx.Done()
		return nil, ctx.Err()
	})
	policy := testPolicy
	policy.MaxRetries, policy.Timeout = 1, 20*time.Millisecond
	r, waits := recordingRetrier(hang, policy)
	_, err := r.Chat(context.Background(), &Request{})
	g.Expect(err).To(MatchError(ContainSubstring("no answer within 20ms")))
	g.Expect(calls).To(Equal(2), "a timed-out attempt is retried")
	g.Expect(*waits).To(HaveLen(1))
}

func TestRetryDoesNotWaitPastTheCallersDeadline(t *testing.T) {
	g := NewWithT(t)
	p := &flaky{errs: []error{&APIError{StatusCode: 429, RetryAfter: time.Hour, Retryable: true}}}
	r, waits := recordingRetrier(p, testPolicy)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := r.Chat(ctx, &Request{})
	g.Expect(err).To(MatchError(ContainSubstring("no time left to wait 1h0m0s")))
	g.Expect(p.calls).To(Equal(1))
	g.Expect(*waits).To(BeEmpty())
}

func TestGateBoundsCallsInFlight(t *testing.T) {
	g := NewWithT(t)
	gate := NewGate(2)
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	p := gate.Wrap(ProviderFunc(func(ctx context.Context, _ *Request) (*Response, error) {
		entered <- struct{}{}
		<-release
		return &Response{}, nil
	}))
	done := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := p.Chat(context.Background(), &Request{})
			done <- err
		}()
	}
	g.Eventually(entered).Should(HaveLen(2))
	g.Consistently(entered, 50*time.Millisecond).Should(HaveLen(2), "the third call waits for a slot")
	g.Expect(gate.InFlight()).To(Equal(2))
	close(release)
	for range 3 {
		g.Eventually(done).Should(Receive(BeNil()))
	}
	g.Expect(gate.InFlight()).To(Equal(0))
}

func TestGateGivesUpWhenTheCallerDoes(t *testing.T) {
	g := NewWithT(t)
	gate := NewGate(1)
	block := make(chan struct{})
	defer close(block)
	busy := gate.Wrap(ProviderFunc(func(context.Context, *Request) (*Response, error) { <-block; return &Response{}, nil }))
	go func() { _, _ = busy.Chat(context.Background(), &Request{}) }()
	g.Eventually(gate.InFlight).Should(Equal(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := busy.Chat(ctx, &Request{})
	g.Expect(err).To(MatchError(context.Canceled))
}
