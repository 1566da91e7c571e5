package azuredevops

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

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

func TestBackoffDecisions(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	refused := func(status int, headers ...string) error {
		h := http.Header{}
		for i := 0; i+1 < len(headers); i += 2 {
			h.Set(headers[i], headers[i+1])
		}
		return &apiError{Status: status, header: h}
	}
	cases := []struct {
		name       string
		err        error
		attempt    int
		idempotent bool
		want       retry.Decision
	}{
		{"blocked request waits Retry-After, even a create", refused(429, "Retry-After", "7"), 1, false,
			retry.Decision{Retry: true, RateLimited: true, Wait: 7 * time.Second}},
		{"Retry-After as a date", refused(429, "Retry-After", now.Add(90*time.Second).UTC().Format(http.TimeFormat)), 1, true,
			retry.Decision{Retry: true, RateLimited: true, Wait: 90 * time.Second}},
		{"blocked without advice waits and grows", refused(429), 3, true,
			retry.Decision{Retry: true, RateLimited: true, Wait: 40 * time.Second}},
		{"unavailable with Retry-After is a throttle", refused(503, "Retry-After", "3"), 1, false,
			retry.Decision{Retry: true, RateLimited: true, Wait: 3 * time.Second}},
		{"unavailable without advice: reads are retried", refused(503), 2, true, retry.Decision{Retry: true, Wait: 2 * time.Second}},
		{"unavailable without advice: creates are not", refused(503), 1, false, retry.Decision{}},
		{"bad gateway on a read", refused(502), 1, true, retry.Decision{Retry: true, Wait: time.Second}},
		{"bad gateway on a create", refused(502), 1, false, retry.Decision{}},
		{"lost connection on a read", &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "read", Err: errors.New("connection reset")}}, 1, true,
			retry.Decision{Retry: true, Wait: time.Second}},
		{"connection closed mid-answer on a read", &url.Error{Op: "Get", URL: "http://x", Err: io.ErrUnexpectedEOF}, 1, true,
			retry.Decision{Retry: true, Wait: time.Second}},
		{"lost connection on a create", &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "read", Err: errors.New("reset")}}, 1, false,
			retry.Decision{}},
		{"revision conflict is for the caller", refused(412), 1, true, retry.Decision{}},
		{"not found is final", refused(404), 1, true, retry.Decision{}},
		{"unauthorized is final", refused(401), 1, true, retry.Decision{}},
		{"sign-in page is final", errSignIn, 1, true, retry.Decision{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoff(tc.err, tc.attempt, tc.idempotent, now); got != tc.want {
				t.Fatalf("backoff = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestAnswersAreClassified(t *testing.T) {
	g := NewWithT(t)
	g.Expect(answerError(200, nil, nil)).To(Succeed())
	g.Expect(answerError(201, nil, nil)).To(Succeed())
	g.Expect(answerError(203, nil, []byte("<html>Sign In</html>"))).To(MatchError(errSignIn))
	err := answerError(404, nil, []byte(`{"$id":"1","message":"TF401232: Work item 9 does not exist.","typeKey":"WorkItemUnauthorizedAccessException"}`))
	g.Expect(err).To(MatchError("Azure DevOps answered 404: TF401232: Work item 9 does not exist."))
	g.Expect(err.(*apiError).TypeKey).To(Equal("WorkItemUnauthorizedAccessException"))
	g.Expect(answerError(502, nil, []byte("<html>Bad Gateway</html>"))).To(MatchError("Azure DevOps answered 502: Bad Gateway"))
}

func TestRateLimitsAreWaitedOutAsAzureDevOpsAsks(t *testing.T) {
	cases := []struct {
		name    string
		arrange func(f *fixture)
		want    []time.Duration
	}{
		{"blocked with Retry-After", func(f *fixture) { f.fake.Throttle(1, http.StatusTooManyRequests, 7*time.Second) },
			[]time.Duration{7 * time.Second}},
		{"blocked without Retry-After", func(f *fixture) { f.fake.Throttle(2, http.StatusTooManyRequests, 0) },
			[]time.Duration{10 * time.Second, 20 * time.Second}},
		{"unavailable with Retry-After", func(f *fixture) { f.fake.Throttle(1, http.StatusServiceUnavailable, 3*time.Second) },
			[]time.Duration{3 * time.Second}},
		{"server errors on a read", func(f *fixture) { f.fake.FailNext(2, http.StatusBadGateway) },
			[]time.Duration{time.Second, 2 * time.Second}},
		{"a delayed answer slows the next call", func(f *fixture) { f.fake.Delay(1, 4*time.Second) },
			[]time.Duration{4 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f := newFixture(t)
			id := f.workItem("slow down", "Active", "agent-smith")
			tc.arrange(f)
			tk, err := f.tracker.Ticket(context.Background(), strconv.Itoa(id))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(tk.Title).To(Equal("slow down"))
			g.Expect(f.waits.Waits()).To(Equal(tc.want))
		})
	}
}

func TestBlockedCommentIsSentAgainButAFailedOneIsNot(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := strconv.Itoa(f.workItem("x", "Active"))
	n, _ := strconv.Atoi(id)

	f.fake.Throttle(1, http.StatusTooManyRequests, 2*time.Second)
	_, err := f.tracker.Comment(context.Background(), id, "first")
	g.Expect(err).NotTo(HaveOccurred(), "a blocked request was not processed, so it is safe to send again")

	f.fake.FailNext(1, http.StatusBadGateway)
	_, err = f.tracker.Comment(context.Background(), id, "second")
	g.Expect(err).To(MatchError(ContainSubstring("502")))
	w, _ := f.fake.WorkItem(n)
	g.Expect(w.Comments).To(HaveLen(1), "a create that may have happened is not sent twice")
	g.Expect(f.waits.Waits()).To(Equal([]time.Duration{2 * time.Second}))
}

func TestRateLimitLongerThanTheCapFailsWithoutWaiting(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := f.workItem("x", "Active")
	f.fake.Throttle(1, http.StatusTooManyRequests, time.Hour)
	_, err := f.tracker.Ticket(context.Background(), strconv.Itoa(id))
	g.Expect(err).To(MatchError(ContainSubstring("longer than the 5m0s a call may wait")))
	g.Expect(f.waits.Waits()).To(BeEmpty())
}

func TestWrongTokenIsRefusedWithoutRevealingIt(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := f.workItem("x", "Active")
	cfg := testConfig()
	cfg.Secrets["azure_devops_token"] = "revoked-token-value"
	tr, err := New("platform", trackerConfig(f.fake), cfg, WithHTTPClient(f.fake.Client()))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = tr.Ticket(context.Background(), strconv.Itoa(id))
	g.Expect(err).To(MatchError(ContainSubstring("401")))
	g.Expect(err.Error()).NotTo(ContainSubstring("revoked-token-value"))
	g.Expect(err).NotTo(MatchError(trackers.ErrNotFound))
}
