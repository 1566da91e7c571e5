package azuredevops

import (
	"errors"
	"net/http"
	"time"

	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

const (
	// throttleFallback is the wait after a 429 that names none; Azure
	// DevOps delays throttled requests by up to 30 s, so less would only
	// be refused again.
	throttleFallback = 10 * time.Second
	serverErrorWait  = time.Second
)

// backoff decides what to do after attempt (1-based) failed with err.
//
// A 429 means Azure DevOps blocked the request without processing it, so
// every call is retried, after Retry-After. A 503 with Retry-After is the
// same announcement. Other server errors and lost connections may have
// been processed: only idempotent calls are sent again, so a comment or
// pull request is never created twice.
func backoff(err error, attempt int, idempotent bool, now time.Time) retry.Decision {
	growing := func(base time.Duration) time.Duration { return base << (attempt - 1) }
	if ae, ok := errors.AsType[*apiError](err); ok {
		wait, announced := retry.RetryAfter(ae.header, now)
		switch ae.Status {
		case http.StatusTooManyRequests:
			if !announced {
				wait = growing(throttleFallback)
			}
			return retry.Decision{Retry: true, RateLimited: true, Wait: wait}
		case http.StatusServiceUnavailable:
			if announced {
				return retry.Decision{Retry: true, RateLimited: true, Wait: wait}
			}
			if idempotent {
				return retry.Decision{Retry: true, Wait: growing(serverErrorWait)}
			}
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
			if idempotent {
				return retry.Decision{Retry: true, Wait: growing(serverErrorWait)}
			}
		}
		return retry.Decision{}
	}
	if idempotent && retry.Transient(err) {
		return retry.Decision{Retry: true, Wait: growing(serverErrorWait)}
	}
	return retry.Decision{}
}

// honourDelay pauses the client when a successful answer carries
// Retry-After: Azure DevOps sends it on requests it already delayed,
// asking the caller to slow down before it starts refusing them.
func (a *api) honourDelay(h http.Header) {
	if wait, ok := retry.RetryAfter(h, a.Now()); ok && wait > 0 {
		a.Pause(wait)
	}
}
