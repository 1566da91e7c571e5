package github

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	gh "github.com/google/go-github/v88/github"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

func TestBackoffDecisions(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	resp := func(status int, headers ...string) *http.Response {
		h := http.Header{}
		for i := 0; i+1 < len(headers); i += 2 {
			h.Set(headers[i], headers[i+1])
		}
		return &http.Response{StatusCode: status, Header: h, Request: &http.Request{Method: "GET", URL: &url.URL{Path: "/x"}}}
	}
	retryAfter := func(d time.Duration) *time.Duration { return &d }
	cases := []struct {
		name       string
		err        error
		attempt    int
		idempotent bool
		want       retry.Decision
	}{
		{"primary limit waits for the reset", &gh.RateLimitError{Rate: gh.Rate{Reset: gh.Timestamp{Time: now.Add(90 * time.Second)}}, Response: resp(403)}, 1, true,
			retry.Decision{Retry: true, RateLimited: true, Wait: 91 * time.Second}},
		{"primary limit already reset waits the slack", &gh.RateLimitError{Rate: gh.Rate{Reset: gh.Timestamp{Time: now.Add(-time.Minute)}}, Response: resp(403)}, 1, false,
			retry.Decision{Retry: true, RateLimited: true, Wait: time.Second}},
		{"secondary limit honours Retry-After", &gh.AbuseRateLimitError{Response: resp(403, "Retry-After", "7", "X-RateLimit-Remaining", "4000", "X-RateLimit-Reset", "1700003600")}, 1, false,
			retry.Decision{Retry: true, RateLimited: true, Wait: 7 * time.Second}},
		{"secondary limit with remaining 0 waits for the reset", &gh.AbuseRateLimitError{Response: resp(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1700000030")}, 1, true,
			retry.Decision{Retry: true, RateLimited: true, Wait: 31 * time.Second}},
		{"secondary limit without advice waits a minute, not for the primary reset", &gh.AbuseRateLimitError{RetryAfter: retryAfter(time.Hour), Response: resp(403, "X-RateLimit-Remaining", "4000", "X-RateLimit-Reset", "1700003600")}, 1, true,
			retry.Decision{Retry: true, RateLimited: true, Wait: time.Minute}},
		{"repeated secondary limit waits longer", &gh.AbuseRateLimitError{Response: resp(403)}, 3, true,
			retry.Decision{Retry: true, RateLimited: true, Wait: 4 * time.Minute}},
		{"plain 429 honours Retry-After", &gh.ErrorResponse{Response: resp(429, "Retry-After", "12")}, 1, false,
			retry.Decision{Retry: true, RateLimited: true, Wait: 12 * time.Second}},
		{"server error on a read is retried", &gh.ErrorResponse{Response: resp(502)}, 2, true,
			retry.Decision{Retry: true, Wait: 2 * time.Second}},
		{"server error on a create is not retried", &gh.ErrorResponse{Response: resp(502)}, 1, false, retry.Decision{}},
		{"lost connection on a read is retried", &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "read", Err: errors.New("connection reset")}}, 1, true,
			retry.Decision{Retry: true, Wait: time.Second}},
		{"connection closed mid-answer on a read is retried", &url.Error{Op: "Get", URL: "http://x", Err: io.ErrUnexpectedEOF}, 1, true,
			retry.Decision{Retry: true, Wait: time.Second}},
		{"lost connection on a create is not retried", &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "read", Err: errors.New("connection reset")}}, 1, false,
			retry.Decision{}},
		{"refused App token exchange is final", &url.Error{Op: "Get", URL: "http://x", Err: errors.New("received non 2xx response status \"401\"")}, 1, true,
			retry.Decision{}},
		{"not found is final", &gh.ErrorResponse{Response: resp(404)}, 1, true, retry.Decision{}},
		{"validation failure is final", &gh.ErrorResponse{Response: resp(422)}, 1, true, retry.Decision{}},
		{"unknown error is final", errors.New("boom"), 1, true, retry.Decision{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoff(tc.err, tc.attempt, tc.idempotent, now); got != tc.want {
				t.Fatalf("backoff = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRateLimitsAreWaitedOutAsGitHubAsks(t *testing.T) {
	cases := []struct {
		name    string
		arrange func(*githubfake.Server)
		want    func(g Gomega, waits []time.Duration)
	}{
		{"secondary limit with Retry-After", func(f *githubfake.Server) { f.LimitSecondary(1, 7*time.Second) },
			func(g Gomega, w []time.Duration) { g.Expect(w).To(Equal([]time.Duration{7 * time.Second})) }},
		{"secondary limit without Retry-After", func(f *githubfake.Server) { f.LimitSecondary(2, 0) },
			func(g Gomega, w []time.Duration) {
				g.Expect(w).To(Equal([]time.Duration{time.Minute, 2 * time.Minute}))
			}},
		{"primary limit until the reset", func(f *githubfake.Server) { f.LimitPrimary(1, 90*time.Second) },
			func(g Gomega, w []time.Duration) {
				g.Expect(w).To(HaveLen(1))
				g.Expect(w[0]).To(BeNumerically("~", 91*time.Second, 2*time.Second))
			}},
		{"server error on a read", func(f *githubfake.Server) { f.FailNext(2, http.StatusBadGateway) },
			func(g Gomega, w []time.Duration) {
				g.Expect(w).To(Equal([]time.Duration{time.Second, 2 * time.Second}))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f := newFixture(t)
			n := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "slow down", Labels: []string{"agent-smith"}})
			tc.arrange(f.fake)
			tk, err := f.tracker.Ticket(context.Background(), itoa(n))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(tk.Title).To(Equal("slow down"))
			tc.want(g, f.waits.Waits())
		})
	}
}

func TestRateLimitLongerThanTheCapFailsWithoutWaiting(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	n := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "x"})
	f.fake.LimitPrimary(1, time.Hour)
	_, err := f.tracker.Ticket(context.Background(), itoa(n))
	g.Expect(err).To(MatchError(ContainSubstring("longer than the 10m0s a call may wait")))
	g.Expect(f.waits.Waits()).To(BeEmpty())
}

func TestServerErrorOnCommentIsNotRetried(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	n := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "x"})
	f.fake.FailNext(1, http.StatusBadGateway)
	_, err := f.tracker.Comment(context.Background(), itoa(n), "hello")
	g.Expect(err).To(HaveOccurred())
	is, _ := f.fake.Issue(shopRepo, n)
	g.Expect(is.Comments).To(BeEmpty())
	g.Expect(f.waits.Waits()).To(BeEmpty(), "a create that may have happened is not sent twice")
}

func TestNotFoundWrapsErrNotFound(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	err := f.tracker.SetLifecycle(context.Background(), "4711", trackers.LifecycleQueued)
	g.Expect(err).To(MatchError(trackers.ErrNotFound))
	_, err = f.tracker.Ticket(context.Background(), "not-a-number")
	g.Expect(err).To(MatchError(trackers.ErrNotFound))
}
