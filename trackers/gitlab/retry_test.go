package gitlab

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

func TestBackoffDecisions(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	resp := func(status int, headers ...string) *gl.ErrorResponse {
		h := http.Header{}
		for i := 0; i+1 < len(headers); i += 2 {
			h.Set(headers[i], headers[i+1])
		}
		return &gl.ErrorResponse{Response: &http.Response{StatusCode: status, Header: h,
			Request: &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/api/v4/x"}}}}
	}
	cases := []struct {
		name       string
		err        error
		attempt    int
		idempotent bool
		want       retry.Decision
	}{
		{"429 honours Retry-After", resp(429, "Retry-After", "7", "RateLimit-Reset", "1700000600"), 1, false,
			retry.Decision{Retry: true, RateLimited: true, Wait: 7 * time.Second}},
		{"429 honours a Retry-After date", resp(429, "Retry-After", now.Add(20*time.Second).UTC().Format(http.TimeFormat)), 1, true,
			retry.Decision{Retry: true, RateLimited: true, Wait: 20 * time.Second}},
		{"429 without Retry-After waits for RateLimit-Reset", resp(429, "RateLimit-Reset", "1700000030"), 1, true,
			retry.Decision{Retry: true, RateLimited: true, Wait: 31 * time.Second}},
		{"429 whose reset has passed waits the slack", resp(429, "RateLimit-Reset", "1699999000"), 1, true,
			retry.Decision{Retry: true, RateLimited: true, Wait: time.Second}},
		{"429 without advice waits longer each time", resp(429), 3, false,
			retry.Decision{Retry: true, RateLimited: true, Wait: 20 * time.Second}},
		{"503 with Retry-After is retried even for a create", resp(503, "Retry-After", "12"), 1, false,
			retry.Decision{Retry: true, RateLimited: true, Wait: 12 * time.Second}},
		{"503 without Retry-After on a read is retried", resp(503), 2, true,
			retry.Decision{Retry: true, Wait: 2 * time.Second}},
		{"503 without Retry-After on a create is not", resp(503), 1, false, retry.Decision{}},
		{"502 on a read is retried", resp(502), 1, true, retry.Decision{Retry: true, Wait: time.Second}},
		{"500 on a create is not retried", resp(500), 1, false, retry.Decision{}},
		{"lost connection on a read is retried", &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "read", Err: errors.New("connection reset")}}, 1, true,
			retry.Decision{Retry: true, Wait: time.Second}},
		{"connection closed mid-answer on a read is retried", &url.Error{Op: "Get", URL: "http://x", Err: io.ErrUnexpectedEOF}, 1, true,
			retry.Decision{Retry: true, Wait: time.Second}},
		{"lost connection on a create is not retried", &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "read", Err: errors.New("connection reset")}}, 1, false,
			retry.Decision{}},
		{"not found is final", gl.ErrNotFound, 1, true, retry.Decision{}},
		{"forbidden is final", resp(403), 1, true, retry.Decision{}},
		{"conflict is final", resp(409), 1, true, retry.Decision{}},
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

func TestRefusalsAreWaitedOutAsGitLabAsks(t *testing.T) {
	cases := []struct {
		name    string
		arrange func(*gitlabfake.Server)
		// call is a read unless it says otherwise.
		call func(*fixture, int) error
		want func(g Gomega, waits []time.Duration, err error)
	}{
		{"rate limit with Retry-After",
			func(s *gitlabfake.Server) {
				s.RefuseNext(1, gitlabfake.Refusal{Status: http.StatusTooManyRequests, RetryAfter: 7 * time.Second, ResetIn: time.Minute})
			}, nil,
			func(g Gomega, waits []time.Duration, err error) {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(waits).To(Equal([]time.Duration{7 * time.Second}))
			}},
		{"rate limit with only RateLimit-Reset",
			func(s *gitlabfake.Server) {
				s.RefuseNext(1, gitlabfake.Refusal{Status: http.StatusTooManyRequests, ResetIn: 40 * time.Second})
			}, nil,
			func(g Gomega, waits []time.Duration, err error) {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(waits).To(HaveLen(1))
				g.Expect(waits[0]).To(BeNumerically("~", 41*time.Second, 2*time.Second))
			}},
		{"rate limit without advice, twice",
			func(s *gitlabfake.Server) { s.RefuseNext(2, gitlabfake.Refusal{Status: http.StatusTooManyRequests}) }, nil,
			func(g Gomega, waits []time.Duration, err error) {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(waits).To(Equal([]time.Duration{5 * time.Second, 10 * time.Second}))
			}},
		{"maintenance with Retry-After delays a note, which is then posted once",
			func(s *gitlabfake.Server) {
				s.RefuseNext(1, gitlabfake.Refusal{Status: http.StatusServiceUnavailable, RetryAfter: 30 * time.Second})
			},
			func(f *fixture, iid int) error {
				_, err := f.tracker.Comment(context.Background(), itoa(iid), "hello")
				return err
			},
			func(g Gomega, waits []time.Duration, err error) {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(waits).To(Equal([]time.Duration{30 * time.Second}))
			}},
		{"bad gateway on a note is not retried",
			func(s *gitlabfake.Server) { s.RefuseNext(1, gitlabfake.Refusal{Status: http.StatusBadGateway}) },
			func(f *fixture, iid int) error {
				_, err := f.tracker.Comment(context.Background(), itoa(iid), "hello")
				return err
			},
			func(g Gomega, waits []time.Duration, err error) {
				g.Expect(err).To(MatchError(ContainSubstring("502")))
				g.Expect(waits).To(BeEmpty())
			}},
		{"server errors on a read are retried a bounded number of times",
			func(s *gitlabfake.Server) {
				s.RefuseNext(maxAttempts, gitlabfake.Refusal{Status: http.StatusBadGateway})
			}, nil,
			func(g Gomega, waits []time.Duration, err error) {
				g.Expect(err).To(MatchError(ContainSubstring("502")))
				g.Expect(waits).To(Equal([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}))
			}},
		{"a wait longer than allowed gives up at once",
			func(s *gitlabfake.Server) {
				s.RefuseNext(1, gitlabfake.Refusal{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Hour})
			}, nil,
			func(g Gomega, waits []time.Duration, err error) {
				g.Expect(err).To(MatchError(ContainSubstring("GitLab asks to wait 2h0m0s, longer than the 10m0s a call may wait")))
				g.Expect(waits).To(BeEmpty())
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f := newFixture(t)
			iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x"})
			tc.arrange(f.fake)
			call := tc.call
			if call == nil {
				call = func(f *fixture, iid int) error {
					_, err := f.tracker.Ticket(context.Background(), itoa(iid))
					return err
				}
			}
			err := call(f, iid)
			tc.want(g, f.waits.Waits(), err)
			if err == nil {
				is, _ := f.fake.Issue(shopProject, iid)
				g.Expect(len(is.Notes)).To(BeNumerically("<=", 1), "nothing is posted twice")
			}
		})
	}
}

func TestRateLimitHoldsBackTheClientsOtherCalls(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x"})
	// A clock that stands still while calls wait, as for calls that
	// start while another one is waiting out the limit.
	var waited []time.Duration
	f.tracker.api.Sleep = func(ctx context.Context, d time.Duration) error {
		waited = append(waited, d)
		return ctx.Err()
	}
	f.fake.RefuseNext(1, gitlabfake.Refusal{Status: http.StatusTooManyRequests, RetryAfter: 9 * time.Second})
	before := len(f.fake.Requests())
	_, err := f.tracker.Ticket(context.Background(), itoa(iid))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.tracker.Comment(context.Background(), itoa(iid), "after the limit")
	g.Expect(err).NotTo(HaveOccurred())
	sent := len(f.fake.Requests()) - before
	g.Expect(sent).To(BeNumerically(">=", 3))
	g.Expect(waited).To(HaveLen(sent-1), "every request after the 429 waited for the window first")
	g.Expect(waited).To(HaveEach(9 * time.Second))
}

func TestNotFoundIsReportedAsSuch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x"})
	cases := map[string]func() error{
		"ticket":       func() error { _, err := f.tracker.Ticket(ctx, "987654"); return err },
		"comment":      func() error { _, err := f.tracker.Comment(ctx, "987654", "x"); return err },
		"edit comment": func() error { return f.tracker.EditComment(ctx, itoa(iid), "987654", "x") },
		"comment id":   func() error { return f.tracker.EditComment(ctx, itoa(iid), "abc", "x") },
		"lifecycle":    func() error { return f.tracker.SetLifecycle(ctx, "987654", trackers.LifecycleQueued) },
		"issue id":     func() error { _, err := f.tracker.Ticket(ctx, "-"+strconv.Itoa(iid)); return err },
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			NewWithT(t).Expect(fn()).To(MatchError(trackers.ErrNotFound))
		})
	}
}
