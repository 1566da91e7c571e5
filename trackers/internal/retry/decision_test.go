package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

func TestRetryAfterReadsSecondsAndDates(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cases := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"seconds", "7", 7 * time.Second, true},
		{"zero seconds", "0", 0, true},
		{"a fraction of a second", "1.5", 1500 * time.Millisecond, true},
		{"a date", now.Add(20 * time.Second).UTC().Format(http.TimeFormat), 20 * time.Second, true},
		{"a date in the past", now.Add(-time.Hour).UTC().Format(http.TimeFormat), 0, true},
		{"missing", "", 0, false},
		{"negative", "-3", 0, false},
		{"not a wait", "soon", 0, false},
		{"infinite", "Inf", 0, false},
		{"not a number", "NaN", 0, false},
		{"beyond any duration", "1e30", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			h := http.Header{}
			if tc.value != "" {
				h.Set("Retry-After", tc.value)
			}
			got, ok := retry.RetryAfter(h, now)
			g.Expect(ok).To(Equal(tc.wantOK))
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestTransientTellsLostRequestsFromRefusals(t *testing.T) {
	lost := func(err error) error { return &url.Error{Op: "Get", URL: "https://tracker.test/x", Err: err} }
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", lost(&net.OpError{Op: "dial", Err: errors.New("connection refused")}), true},
		{"connection reset", lost(&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}), true},
		{"connection closed before the answer", lost(io.EOF), true},
		{"answer cut short", lost(io.ErrUnexpectedEOF), true},
		{"timeout", lost(context.DeadlineExceeded), true},
		{"wrapped by the client", fmt.Errorf("get issue: %w", lost(io.EOF)), true},
		{"refused token exchange", lost(errors.New(`received non 2xx response status "401"`)), false},
		{"not a request error", errors.New("boom"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(retry.Transient(tc.err)).To(Equal(tc.want))
		})
	}
}
