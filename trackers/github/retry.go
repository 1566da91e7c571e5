package github

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
	gh "github.com/google/go-github/v88/github"
)

// call runs fn until it succeeds, fails for good, or runs out of attempts.
// Rate limits are waited out as GitHub asks (X-RateLimit-Reset for the
// primary limit, Retry-After or a growing wait for secondary limits) and
// hold back every other call of this client meanwhile. Server errors and
// lost connections are retried only for idempotent calls, so a comment or
// pull request is never created twice.
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
			return fmt.Errorf("%s: GitHub asks to wait %s, longer than the %s a call may wait: %w", what, d.wait.Round(time.Second), a.maxWait, err)
		}
		logr.FromContextOrDiscard(ctx).V(1).Info("GitHub call will be retried", "call", what, "attempt", attempt, "wait", d.wait, "rateLimited", d.rateLimited, "error", err.Error())
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
	// secondaryFallback is GitHub's advice when a secondary limit names no
	// wait: at least a minute, growing on each repeat.
	secondaryFallback = time.Minute
	serverErrorWait   = time.Second
	// resetSlack covers clock skew and X-RateLimit-Reset's second rounding.
	resetSlack = time.Second
)

// backoff decides what to do after attempt (1-based) failed with err.
func backoff(err error, attempt int, idempotent bool, now time.Time) decision {
	growing := func(base time.Duration) time.Duration { return base << (attempt - 1) }
	if rl, ok := errors.AsType[*gh.RateLimitError](err); ok {
		return decision{retry: true, rateLimited: true, wait: untilReset(rl.Rate.Reset.Time, now)}
	}
	if ab, ok := errors.AsType[*gh.AbuseRateLimitError](err); ok {
		// Read the headers, not ab.RetryAfter: go-github falls back to
		// X-RateLimit-Reset, which GitHub sends on every answer, so a
		// secondary limit would wait for the primary window (up to an
		// hour) instead of GitHub's advice below.
		d := decision{retry: true, rateLimited: true, wait: growing(secondaryFallback)}
		if ab.Response == nil {
			return d
		}
		h := ab.Response.Header
		if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
			d.wait = time.Duration(s) * time.Second
		} else if reset, ok := resetHeader(h); ok && h.Get("X-RateLimit-Remaining") == "0" {
			d.wait = untilReset(reset, now)
		}
		return d
	}
	if er, ok := errors.AsType[*gh.ErrorResponse](err); ok && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusTooManyRequests:
			d := decision{retry: true, rateLimited: true, wait: growing(secondaryFallback)}
			if s, err := strconv.Atoi(er.Response.Header.Get("Retry-After")); err == nil && s > 0 {
				d.wait = time.Duration(s) * time.Second
			}
			return d
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
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

// transient reports a request that failed on the way (connection refused or
// reset, timeout), as opposed to one GitHub or the App token exchange
// answered with a refusal.
func transient(err error) bool {
	ue, ok := errors.AsType[*url.Error](err)
	if !ok {
		return false
	}
	_, netErr := errors.AsType[*net.OpError](ue.Err)
	return netErr || ue.Timeout() || errors.Is(ue.Err, io.EOF) || errors.Is(ue.Err, io.ErrUnexpectedEOF)
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
