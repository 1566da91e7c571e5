package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

// Option adjusts a Tracker.
type Option func(*options)

type options struct {
	httpClient *http.Client
	baseURL    string
	maxWait    time.Duration
}

// WithHTTPClient sends API requests through c (tests: the fake's client;
// production: a client with proxy or TLS settings). Each request still
// gets its own timeout.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithBaseURL replaces the configured site URL.
func WithBaseURL(u string) Option { return func(o *options) { o.baseURL = u } }

// WithMaxRateLimitWait caps how long one call waits out a rate limit before
// it gives up with the error (default 10 minutes).
func WithMaxRateLimitWait(d time.Duration) Option { return func(o *options) { o.maxWait = d } }

const (
	defaultMaxWait = 10 * time.Minute
	// requestTimeout bounds one HTTP exchange; a call's retries each get it.
	requestTimeout = 30 * time.Second
	maxAttempts    = 5
	// maxResponse bounds what is read of one answer.
	maxResponse = 32 << 20
	apiPrefix   = "/rest/api/3"
)

// api is an HTTP client for one Jira site's REST API v3, with the
// authentication every call carries; calls go through the embedded
// Caller, which retries as backoff decides.
type api struct {
	*retry.Caller
	site          string // root URL, no trailing slash
	client        *http.Client
	authorization string

	// jitter spreads the waits agent-smith chooses; tests replace it to
	// observe them exactly.
	jitter func(time.Duration) time.Duration
}

func newAPI(site string, client *http.Client, authorization string, maxWait time.Duration) *api {
	a := &api{site: site, client: client, authorization: authorization, jitter: spread}
	a.Caller = retry.New(retry.Policy{Tracker: "Jira", Attempts: maxAttempts, MaxWait: maxWait, Decide: a.decide})
	return a
}

// request is one REST call: path below /rest/api/3.
type request struct {
	method string
	path   string
	query  url.Values
	body   any
	// idempotent calls are retried after server errors and lost
	// connections; others only after 429, which Jira answers before
	// doing anything.
	idempotent bool
}

// apiError is a non-2xx answer: Jira's errorMessages and per-field errors.
type apiError struct {
	status   int
	messages []string
	fields   map[string]string
	header   http.Header
}

func (e *apiError) Error() string {
	parts := slices.Clone(e.messages)
	for _, f := range slices.Sorted(maps.Keys(e.fields)) {
		parts = append(parts, f+": "+e.fields[f])
	}
	msg := fmt.Sprintf("Jira answered %d %s", e.status, http.StatusText(e.status))
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, "; ")
	}
	return msg
}

// statusOf is the HTTP status of a failed call, 0 when it has none.
func statusOf(err error) int {
	if e, ok := errors.AsType[*apiError](err); ok {
		return e.status
	}
	return 0
}

// do sends req through the Caller until it succeeds, fails for good, or
// runs out of attempts, and decodes the answer into out. Only idempotent
// requests are sent again after a failure Jira may have acted on.
func (a *api) do(ctx context.Context, what string, req request, out any) error {
	return a.Call(ctx, what, req.idempotent, func(ctx context.Context) error { return a.send(ctx, req, out) })
}

// send makes one HTTP exchange and decodes a 2xx answer into out (nil:
// the body is discarded).
func (a *api) send(ctx context.Context, req request, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	u := a.site + apiPrefix + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		raw, err := json.Marshal(req.body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return err
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("Authorization", a.authorization)
	hr.Header.Set("User-Agent", "agent-smith")
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(hr)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &apiError{status: resp.StatusCode, header: resp.Header}
		var wire struct {
			ErrorMessages []string          `json:"errorMessages"`
			Errors        map[string]string `json:"errors"`
		}
		if json.Unmarshal(raw, &wire) == nil {
			e.messages, e.fields = wire.ErrorMessages, wire.Errors
		}
		return e
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
