package gitlab

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

const (
	// rateLimitFallback is the first wait after a 429 that says neither
	// Retry-After nor RateLimit-Reset; it doubles on each repeat.
	rateLimitFallback = 5 * time.Second
	serverErrorWait   = time.Second
	// resetSlack covers clock skew and RateLimit-Reset's second rounding.
	resetSlack = time.Second
)

// backoff decides what to do after attempt (1-based) failed with err.
// Rate limits (429) are waited out as GitLab asks (Retry-After, else
// RateLimit-Reset, else a growing wait) and hold back every call of the
// client; so does a 503 that names a Retry-After. Other server errors and
// lost connections are retried only for idempotent calls, so a note or
// merge request is never created twice.
func backoff(err error, attempt int, idempotent bool, now time.Time) retry.Decision {
	growing := func(base time.Duration) time.Duration { return base << (attempt - 1) }
	if er, ok := errors.AsType[*gl.ErrorResponse](err); ok && er.Response != nil {
		h := er.Response.Header
		switch er.Response.StatusCode {
		case http.StatusTooManyRequests:
			d := retry.Decision{Retry: true, RateLimited: true, Wait: growing(rateLimitFallback)}
			if wait, ok := retry.RetryAfter(h, now); ok {
				d.Wait = wait
			} else if reset, err := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64); err == nil {
				d.Wait = max(time.Unix(reset, 0).Sub(now), 0) + resetSlack
			}
			return d
		case http.StatusServiceUnavailable:
			// A 503 that names a wait was refused before any work (deploys,
			// maintenance mode), so even a create may be sent again.
			if wait, ok := retry.RetryAfter(h, now); ok {
				return retry.Decision{Retry: true, RateLimited: true, Wait: wait}
			}
			fallthrough
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
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

// statusOf is the HTTP status of a failed GitLab call, 0 when it has none.
// The client reports 404 as gl.ErrNotFound, without the response.
func statusOf(err error) int {
	if errors.Is(err, gl.ErrNotFound) {
		return http.StatusNotFound
	}
	if er, ok := errors.AsType[*gl.ErrorResponse](err); ok && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}
