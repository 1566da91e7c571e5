package gitlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	gl "gitlab.com/gitlab-org/api/client-go"
)

// call runs fn until it succeeds, fails for good, or runs out of attempts.
// Rate limits (429) are waited out as GitLab asks (Retry-After, else
// RateLimit-Reset, else a growing wait) and hold back every other call of
// this client meanwhile; so does a 503 that names a Retry-After. Other
// server errors and lost connections are retried only for idempotent
// calls, so a note or merge request is never created twice.
func (a *api) call(ctx context.Context, what string, idempotent bool, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		if err := a.waitPause(ctx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		d := backoff(err, attempt, idempotent, a.now())
		switch {
		case !d.retry || attempt == maxAttempts:
			return fmt.Errorf("%s: %w", what, err)
		case d.wait > a.maxWait:
			return fmt.Errorf("%s: GitLab asks to wait %s, longer than the %s a call may wait: %w", what, d.wait.Round(time.Second), a.maxWait, err)
		}
		logr.FromContextOrDiscard(ctx).V(1).Info("GitLab call will be retried", "call", what, "attempt", attempt, "wait", d.wait, "rateLimited", d.rateLimited, "error", err.Error())
		if d.rateLimited {
			a.pause(d.wait)
			continue
		}
		if err := a.sleep(ctx, d.wait); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
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

// decision is whether and when to try a failed call again.
type decision struct {
	retry       bool
	wait        time.Duration
	rateLimited bool
}

const (
	// rateLimitFallback is the first wait after a 429 that says neither
	// Retry-After nor RateLimit-Reset; it doubles on each repeat.
	rateLimitFallback = 5 * time.Second
	serverErrorWait   = time.Second
	// resetSlack covers clock skew and RateLimit-Reset's second rounding.
	resetSlack = time.Second
)

// backoff decides what to do after attempt (1-based) failed with err.
func backoff(err error, attempt int, idempotent bool, now time.Time) decision {
	growing := func(base time.Duration) time.Duration { return base << (attempt - 1) }
	if er, ok := errors.AsType[*gl.ErrorResponse](err); ok && er.Response != nil {
		h := er.Response.Header
		switch er.Response.StatusCode {
		case http.StatusTooManyRequests:
			d := decision{retry: true, rateLimited: true, wait: growing(rateLimitFallback)}
			if wait, ok := retryAfter(h, now); ok {
				d.wait = wait
			} else if reset, err := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64); err == nil {
				d.wait = max(time.Unix(reset, 0).Sub(now), 0) + resetSlack
			}
			return d
		case http.StatusServiceUnavailable:
			// A 503 that names a wait was refused before any work (deploys,
			// maintenance mode), so even a create may be sent again.
			if wait, ok := retryAfter(h, now); ok {
				return decision{retry: true, rateLimited: true, wait: wait}
			}
			fallthrough
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
			if !idempotent {
				return decision{}
			}
			return decision{retry: true, wait: growing(serverErrorWait)}
		}
		return decision{}
	}
	if idempotent && transient(err) {
		return decision{retry: true, wait: growing(serverErrorWait)}
	}
	return decision{}
}

// retryAfter reads Retry-After in either of its forms (seconds or an HTTP
// date).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// transient reports a request that failed on the way (connection refused
// or reset, timeout), as opposed to one GitLab answered.
func transient(err error) bool {
	ue, ok := errors.AsType[*url.Error](err)
	if !ok {
		return false
	}
	_, netErr := errors.AsType[*net.OpError](ue.Err)
	return netErr || ue.Timeout() || errors.Is(ue.Err, io.EOF) || errors.Is(ue.Err, io.ErrUnexpectedEOF)
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
