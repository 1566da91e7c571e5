package azuredevops

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// decision is whether and when to try a failed call again.
type decision struct {
	retry bool
	wait  time.Duration
	// rateLimited waits hold back every call of the client, not only the
	// one that was refused.
	rateLimited bool
}

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
func backoff(err error, attempt int, idempotent bool, now time.Time) decision {
	growing := func(base time.Duration) time.Duration { return base << (attempt - 1) }
	if ae, ok := errors.AsType[*apiError](err); ok {
		wait, announced := retryAfter(ae.header, now)
		switch ae.Status {
		case http.StatusTooManyRequests:
			if !announced {
				wait = growing(throttleFallback)
			}
			return decision{retry: true, rateLimited: true, wait: wait}
		case http.StatusServiceUnavailable:
			if announced {
				return decision{retry: true, rateLimited: true, wait: wait}
			}
			if idempotent {
				return decision{retry: true, wait: growing(serverErrorWait)}
			}
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
			if idempotent {
				return decision{retry: true, wait: growing(serverErrorWait)}
			}
		}
		return decision{}
	}
	if idempotent && transient(err) {
		return decision{retry: true, wait: growing(serverErrorWait)}
	}
	return decision{}
}

// retryAfter reads Retry-After (seconds or an HTTP date).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// honourDelay pauses the client when a successful answer carries
// Retry-After: Azure DevOps sends it on requests it already delayed,
// asking the caller to slow down before it starts refusing them.
func (a *api) honourDelay(h http.Header) {
	if wait, ok := retryAfter(h, a.now()); ok && wait > 0 {
		a.pause(min(wait, a.maxWait))
	}
}

func (a *api) pause(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if until := a.now().Add(d); until.After(a.pausedUntil) {
		a.pausedUntil = until
	}
}

func (a *api) waitPause(ctx context.Context) error {
	a.mu.Lock()
	wait := a.pausedUntil.Sub(a.now())
	a.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	if err := a.sleep(ctx, wait); err != nil {
		return err
	}
	a.mu.Lock()
	if !a.pausedUntil.After(a.now()) {
		a.pausedUntil = time.Time{}
	}
	a.mu.Unlock()
	return nil
}

// transient reports a request that failed on the way (connection refused
// or reset, timeout), as opposed to one Azure DevOps answered.
func transient(err error) bool {
	ue, ok := errors.AsType[*url.Error](err)
	if !ok {
		return false
	}
	_, netErr := errors.AsType[*net.OpError](ue.Err)
	return netErr || ue.Timeout() || errors.Is(ue.Err, io.EOF) || errors.Is(ue.Err, io.ErrUnexpectedEOF)
}
