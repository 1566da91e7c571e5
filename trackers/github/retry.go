package github

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	gh "github.com/google/go-github/v88/github"

	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

const (
	// secondaryFallback is GitHub's advice when a secondary limit names no
	// wait: at least a minute, growing on each repeat.
	secondaryFallback = time.Minute
	serverErrorWait   = time.Second
	// resetSlack covers clock skew and X-RateLimit-Reset's second rounding.
	resetSlack = time.Second
)

// backoff decides what to do after attempt (1-based) failed with err.
// Rate limits are waited out as GitHub asks: X-RateLimit-Reset for the
// primary limit, Retry-After or a growing wait for secondary limits. Server
// errors and lost connections are retried only for idempotent calls, so a
// comment or pull request is never created twice.
func backoff(err error, attempt int, idempotent bool, now time.Time) retry.Decision {
	growing := func(base time.Duration) time.Duration { return base << (attempt - 1) }
	if rl, ok := errors.AsType[*gh.RateLimitError](err); ok {
		return retry.Decision{Retry: true, RateLimited: true, Wait: untilReset(rl.Rate.Reset.Time, now)}
	}
	if ab, ok := errors.AsType[*gh.AbuseRateLimitError](err); ok {
		// Read the headers, not ab.RetryAfter: go-github falls back to
		// X-RateLimit-Reset, which GitHub sends on every answer, so a
		// secondary limit would wait for the primary window (up to an
		// hour) instead of GitHub's advice below.
		d := retry.Decision{Retry: true, RateLimited: true, Wait: growing(secondaryFallback)}
		if ab.Response == nil {
			return d
		}
		h := ab.Response.Header
		// A Retry-After of 0 names no wait; GitHub's advice is then the
		// fallback's minute at least.
		if wait, ok := retry.RetryAfter(h, now); ok && wait > 0 {
			d.Wait = wait
		} else if reset, ok := resetHeader(h); ok && h.Get("X-RateLimit-Remaining") == "0" {
			d.Wait = untilReset(reset, now)
		}
		return d
	}
	if er, ok := errors.AsType[*gh.ErrorResponse](err); ok && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusTooManyRequests:
			d := retry.Decision{Retry: true, RateLimited: true, Wait: growing(secondaryFallback)}
			if wait, ok := retry.RetryAfter(er.Response.Header, now); ok && wait > 0 {
				d.Wait = wait
			}
			return d
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			if !idempotent {
				return retry.Decision{}
			}
			return retry.Decision{Retry: true, Wait: growing(serverErrorWait)}
		}
		return retry.Decision{}
	}
	if idempotent && retry.Transient(err) {
		return retry.Decision{Retry: true, Wait: growing(serverErrorWait)}
	}
	return retry.Decision{}
}

func untilReset(reset, now time.Time) time.Duration {
	return max(reset.Sub(now), 0) + resetSlack
}

func resetHeader(h http.Header) (time.Time, bool) {
	s, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(s, 0), true
}

// statusOf is the HTTP status of a failed GitHub call, 0 when it has none.
func statusOf(err error) int {
	if er, ok := errors.AsType[*gh.ErrorResponse](err); ok && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}
