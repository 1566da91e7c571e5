// Package wire is the HTTP plumbing the provider packages share: posting a
// JSON request, reading a bounded answer, and turning error answers into
// llm errors without the API key in them.
//
// Of agent-smith it imports llm alone.
package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/llm"
)

// maxBody bounds what is read of an answer: a chat completion is a few
// hundred KiB at most, so more means something is wrong.
const maxBody = 32 << 20

// Failure is a non-2xx answer, handed to the provider to classify.
type Failure struct {
	Status int
	Header http.Header
	Body   []byte
}

// Endpoint is one provider's HTTP target.
type Endpoint struct {
	// Provider names the provider in errors ("openai", "anthropic"…).
	Provider string
	Client   *http.Client
	// Secret is removed from every error text.
	Secret string
}

// Post sends body as JSON to url and decodes a 2xx answer into out. A
// non-2xx answer is returned as *Failure for the caller to classify; a
// request without an answer, or an answer that cannot be read or decoded
// (a truncated or malformed body), is a *llm.TransportError.
func (e Endpoint) Post(ctx context.Context, url string, header http.Header, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", e.Provider, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %s", e.Provider, e.Scrub(err.Error()))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	client := e.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &llm.TransportError{Provider: e.Provider, Err: errors.New(e.Scrub(err.Error()))}
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &llm.TransportError{Provider: e.Provider, Err: fmt.Errorf("read answer (HTTP %d): %s", resp.StatusCode, e.Scrub(err.Error()))}
	}
	if len(raw) > maxBody {
		return &llm.TransportError{Provider: e.Provider, Err: fmt.Errorf("answer larger than %d bytes", maxBody)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &Failure{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &llm.TransportError{Provider: e.Provider, Err: fmt.Errorf("malformed answer (HTTP %d, %d bytes): %v", resp.StatusCode, len(raw), err)}
	}
	return nil
}

func (f *Failure) Error() string { return fmt.Sprintf("HTTP %d", f.Status) }

// Scrub removes the endpoint's secret from s.
func (e Endpoint) Scrub(s string) string {
	if e.Secret == "" {
		return s
	}
	return strings.ReplaceAll(s, e.Secret, "<redacted>")
}

// APIError builds the llm error for a failure the provider has parsed:
// typ and msg come from the provider's error body. Authentication and
// permission failures keep no provider message (some echo part of the
// key); every other message is scrubbed and bounded.
func (e Endpoint) APIError(f *Failure, typ, msg string) *llm.APIError {
	if f.Status == http.StatusUnauthorized || f.Status == http.StatusForbidden {
		msg = "the API key was refused; check the agent's api_key_secret entry"
	}
	msg = e.Scrub(msg)
	if len(msg) > 1000 {
		msg = msg[:1000] + "…"
	}
	return &llm.APIError{Provider: e.Provider, StatusCode: f.Status, Type: e.Scrub(typ), Message: msg,
		RetryAfter: RetryAfter(f.Header, time.Now()), Retryable: llm.RetryableStatus(f.Status)}
}

// RetryAfter reads how long the server asked to wait: retry-after-ms
// (OpenAI, Azure), else Retry-After in seconds or as an HTTP date.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Snippet is the start of a body that could not be parsed, for errors.
func Snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
