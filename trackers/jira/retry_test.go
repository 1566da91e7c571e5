package jira

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

func TestRefusalsAreWaitedOutAsJiraAsks(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		after     time.Duration
		call      func(f *fixture, key string) error
		wantWaits []time.Duration
		wantErr   string
	}{
		{"429 with Retry-After", http.StatusTooManyRequests, 7 * time.Second, readTicket,
			[]time.Duration{7 * time.Second}, ""},
		{"429 without Retry-After waits 5 s, then doubles", http.StatusTooManyRequests, 0, readTicket,
			[]time.Duration{5 * time.Second}, ""},
		{"429 on a comment is retried: Jira did nothing", http.StatusTooManyRequests, 3 * time.Second, postComment,
			[]time.Duration{3 * time.Second}, ""},
		{"503 with Retry-After on a read", http.StatusServiceUnavailable, 2 * time.Second, readTicket,
			[]time.Duration{2 * time.Second}, ""},
		{"502 on a read grows from a second", http.StatusBadGateway, 0, readTicket,
			[]time.Duration{time.Second}, ""},
		{"503 on a comment is not retried: it may have been made", http.StatusServiceUnavailable, 2 * time.Second, postComment,
			nil, "comment on issue SHOP-1: Jira answered 503 Service Unavailable"},
		{"a wait longer than allowed gives up", http.StatusTooManyRequests, time.Hour, readTicket,
			nil, "Jira asks to wait 1h0m0s, longer than the 10m0s a call may wait"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f := newFixture(t)
			key := f.issue("agent-smith")
			f.fake.FailNext(1, tc.status, tc.after)
			err := tc.call(f, key)
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
			} else {
				g.Expect(err).NotTo(HaveOccurred())
			}
			g.Expect(f.waits.Waits()).To(Equal(tc.wantWaits))
		})
	}
}

func readTicket(f *fixture, key string) error {
	_, err := f.tracker.Ticket(context.Background(), key)
	return err
}

func postComment(f *fixture, key string) error {
	_, err := f.tracker.Comment(context.Background(), key, "queued")
	return err
}

func TestRepeatedRefusalsBackOffThenGiveUp(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	key := f.issue("agent-smith")
	f.fake.FailNext(maxAttempts, http.StatusTooManyRequests, 0)
	err := f.tracker.SetLifecycle(context.Background(), key, trackers.LifecycleQueued)
	g.Expect(err).To(MatchError(ContainSubstring("429 Too Many Requests")))
	g.Expect(f.waits.Waits()).To(Equal([]time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 30 * time.Second}))
	g.Expect(f.fake.Requests()).To(HaveLen(maxAttempts))
}

func TestBackoff(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	identity := func(d time.Duration) time.Duration { return d }
	refusal := func(status int, h map[string]string) error {
		e := &apiError{status: status, header: http.Header{}}
		for k, v := range h {
			e.header.Set(k, v)
		}
		return e
	}
	lost := &url.Error{Op: "Get", URL: "https://acme.atlassian.net", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	cases := []struct {
		name       string
		err        error
		attempt    int
		idempotent bool
		want       retry.Decision
	}{
		{"Retry-After wins", refusal(429, map[string]string{"Retry-After": "12", "X-RateLimit-Reset": "2026-03-02T10:05Z"}), 1, false,
			retry.Decision{Retry: true, RateLimited: true, Wait: 12 * time.Second}},
		{"X-RateLimit-Reset when no Retry-After", refusal(429, map[string]string{"X-RateLimit-Reset": "2026-03-02T10:02Z"}), 1, false,
			retry.Decision{Retry: true, RateLimited: true, Wait: 2 * time.Minute}},
		{"reset in the past", refusal(429, map[string]string{"X-RateLimit-Reset": "2026-03-02T09:00Z"}), 1, false,
			retry.Decision{Retry: true, RateLimited: true, Wait: 0}},
		{"fallback grows and is capped", refusal(429, nil), 4, false, retry.Decision{Retry: true, RateLimited: true, Wait: 30 * time.Second}},
		{"server error, idempotent", refusal(500, nil), 2, true, retry.Decision{Retry: true, Wait: 2 * time.Second}},
		{"server error, not idempotent", refusal(500, nil), 1, false, retry.Decision{}},
		{"client error", refusal(400, nil), 1, true, retry.Decision{}},
		{"not found", refusal(404, nil), 1, true, retry.Decision{}},
		{"lost connection, idempotent", lost, 1, true, retry.Decision{Retry: true, Wait: time.Second}},
		{"lost connection, not idempotent", lost, 1, false, retry.Decision{}},
		{"other error", errors.New("encode request"), 1, true, retry.Decision{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(backoff(tc.err, tc.attempt, tc.idempotent, now, identity)).To(Equal(tc.want))
		})
	}
}

func TestSpreadStaysWithinThirtyPercent(t *testing.T) {
	g := NewWithT(t)
	for range 200 {
		g.Expect(spread(10 * time.Second)).To(And(BeNumerically(">=", 7*time.Second), BeNumerically("<", 13*time.Second)))
	}
}
