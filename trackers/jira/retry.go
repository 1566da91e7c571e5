package jira

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-logr/logr"
)

// call sends req until it succeeds, fails for good, or runs out of
// attempts, and decodes the answer into out. Rate limits (429) are waited
// out as Jira asks — Retry-After, else X-RateLimit-Reset, else a growing
// wait — and hold back every other call of this client meanwhile. Server
// errors (honouring a Retry-After on them) and lost connections are
// retried only for idempotent calls, so a comment or transition is never
// made twice.
func (a *api) call(ctx context.Context, what string, req request, out any) error {
	for attempt := 1; ; attempt++ {
		if err := a.waitPause(ctx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		err := a.send(ctx, req, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		d := backoff(err, attempt, req.idempotent, a.now(), a.jitter)
		switch {
		case !d.retry || attempt == maxAttempts:
			return fmt.Errorf("%s: %w", what, err)
		case d.wait > a.maxWait:
			return fmt.Errorf("%s: Jira asks to wait %s, longer than the %s a call may wait: %w", what, d.wait.Round(time.Second), a.maxWait, err)
		}
		logr.FromContextOrDiscard(ctx).V(1).Info("Jira call will be retried", "call", what, "attempt", attempt, "wait", d.wait, "rateLimited", d.rateLimited, "error", err.Error())
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

// Atlassian's advice for rate-limited clients without a Retry-After: start
// at 5 s, double, cap at 30 s, and spread the waits by ±30 % so that
// clients refused together do not return together.
const (
	firstBackoff = 5 * time.Second
	maxBackoff   = 30 * time.Second
	serverWait   = time.Second
)

// backoff decides what to do after attempt (1-based) failed with err.
// jitter spreads a wait agent-smith chose; a wait Jira named is kept.
func backoff(err error, attempt int, idempotent bool, now time.Time, jitter func(time.Duration) time.Duration) decision {
	growing := func(base, limit time.Duration) time.Duration { return jitter(min(base<<(attempt-1), limit)) }
	e, ok := errors.AsType[*apiError](err)
	if !ok {
		if idempotent && transient(err) {
			return decision{retry: true, wait: growing(serverWait, maxBackoff)}
		}
		return decision{}
	}
	named, hasNamed := retryAfter(e.header, now)
	switch e.status {
	case http.StatusTooManyRequests:
		if hasNamed {
			return decision{retry: true, rateLimited: true, wait: named}
		}
		return decision{retry: true, rateLimited: true, wait: growing(firstBackoff, maxBackoff)}
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if !idempotent {
			return decision{}
		}
		if hasNamed {
			return decision{retry: true, wait: named}
		}
		return decision{retry: true, wait: growing(serverWait, maxBackoff)}
	}
	return decision{}
}

// retryAfter is the wait an answer names: Retry-After in seconds, else
// X-RateLimit-Reset (yyyy-MM-ddTHH:mmZ, or RFC 3339).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	reset := h.Get("X-RateLimit-Reset")
	for _, layout := range []string{"2006-01-02T15:04Z", time.RFC3339} {
		if t, err := time.Parse(layout, reset); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	return 0, false
}

// transient reports a request that failed on the way (connection refused
// or reset, timeout), as opposed to one Jira answered.
func transient(err error) bool {
	ue, ok := errors.AsType[*url.Error](err)
	if !ok {
		return false
	}
	_, netErr := errors.AsType[*net.OpError](ue.Err)
	return netErr || ue.Timeout() || errors.Is(ue.Err, io.EOF) || errors.Is(ue.Err, io.ErrUnexpectedEOF)
}

// spread multiplies d by a random factor in [0.7, 1.3).
func spread(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.7 + 0.6*rand.Float64()))
}
