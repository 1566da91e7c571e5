package jira

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

// Atlassian's advice for rate-limited clients without a Retry-After: start
// at 5 s, double, cap at 30 s, and spread the waits by ±30 % so that
// clients refused together do not return together.
const (
	firstBackoff = 5 * time.Second
	maxBackoff   = 30 * time.Second
	serverWait   = time.Second
)

// backoff decides what to do after attempt (1-based) failed with err.
// Rate limits (429) are waited out as Jira asks — Retry-After, else
// X-RateLimit-Reset, else a growing wait — and hold back every call of the
// client. Server errors (honouring a Retry-After on them) and lost
// connections are retried only for idempotent calls, so a comment or
// transition is never made twice. jitter spreads a wait agent-smith chose;
// a wait Jira named is kept.
func backoff(err error, attempt int, idempotent bool, now time.Time, jitter func(time.Duration) time.Duration) retry.Decision {
	growing := func(base, limit time.Duration) time.Duration { return jitter(min(base<<(attempt-1), limit)) }
	e, ok := errors.AsType[*apiError](err)
	if !ok {
		if idempotent && retry.Transient(err) {
			return retry.Decision{Retry: true, Wait: growing(serverWait, maxBackoff)}
		}
		return retry.Decision{}
	}
	named, hasNamed := namedWait(e.header, now)
	switch e.status {
	case http.StatusTooManyRequests:
		if hasNamed {
			return retry.Decision{Retry: true, RateLimited: true, Wait: named}
		}
		return retry.Decision{Retry: true, RateLimited: true, Wait: growing(firstBackoff, maxBackoff)}
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if !idempotent {
			return retry.Decision{}
		}
		if hasNamed {
			return retry.Decision{Retry: true, Wait: named}
		}
		return retry.Decision{Retry: true, Wait: growing(serverWait, maxBackoff)}
	}
	return retry.Decision{}
}

// namedWait is the wait an answer names: Retry-After, else
// X-RateLimit-Reset (yyyy-MM-ddTHH:mmZ, or RFC 3339).
func namedWait(h http.Header, now time.Time) (time.Duration, bool) {
	if wait, ok := retry.RetryAfter(h, now); ok {
		return wait, true
	}
	reset := h.Get("X-RateLimit-Reset")
	for _, layout := range []string{"2006-01-02T15:04Z", time.RFC3339} {
		if t, err := time.Parse(layout, reset); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	return 0, false
}

// decide is backoff with this client's jitter.
func (a *api) decide(err error, attempt int, idempotent bool, now time.Time) retry.Decision {
	return backoff(err, attempt, idempotent, now, a.jitter)
}

// spread multiplies d by a random factor in [0.7, 1.3).
func spread(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.7 + 0.6*rand.Float64()))
}
