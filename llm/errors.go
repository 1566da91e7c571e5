package llm

import (
	"errors"
	"fmt"
	"time"
)

// APIError is a provider's refusal of a request: an HTTP error status with
// the provider's error type and message. Its text never holds the API key:
// providers build it from the response body after removing the key, and
// authentication failures carry no provider message at all.
type APIError struct {
	Provider   string
	StatusCode int
	// Type is the provider's error type or code (rate_limit_error,
	// insufficient_quota, RESOURCE_EXHAUSTED…), when it names one.
	Type    string
	Message string
	// RetryAfter is how long the provider asked us to wait (Retry-After,
	// retry-after-ms or a body hint); 0 when it did not say.
	RetryAfter time.Duration
	// Retryable says a later attempt may succeed: throttling, overload,
	// server errors. Quota and billing refusals are not.
	Retryable bool
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d", e.Provider, e.StatusCode)
	if e.Type != "" {
		msg += " " + e.Type
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// ContextLengthError is a request the model refused because the
// conversation does not fit its context window. The loop answers it by
// compacting harder; it is never retried as is.
type ContextLengthError struct {
	Provider string
	Message  string
}

func (e *ContextLengthError) Error() string {
	return fmt.Sprintf("%s: context length exceeded: %s", e.Provider, e.Message)
}

// BadToolCallError ends a tool loop whose model made an unusable tool
// call twice in a row, the second time after being told what was wrong.
type BadToolCallError struct {
	// Detail is the provider's reason for the last one.
	Detail string
}

func (e *BadToolCallError) Error() string {
	return "the model made an unusable tool call twice in a row: " + e.Detail
}

// TransportError is a request that got no HTTP answer (connection refused
// or reset, a timed-out attempt) or an answer that could not be read (a
// truncated or malformed body). It is retryable.
type TransportError struct {
	Provider string
	Err      error
}

func (e *TransportError) Error() string { return fmt.Sprintf("%s: %v", e.Provider, e.Err) }
func (e *TransportError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is worth another attempt.
func IsRetryable(err error) bool {
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Retryable
	}
	_, ok := errors.AsType[*TransportError](err)
	return ok
}

// RetryableStatus is the HTTP statuses every provider documents as
// transient: request timeout, conflict, throttling, server errors and
// Anthropic's 529 overloaded.
func RetryableStatus(code int) bool {
	switch code {
	case 408, 409, 429, 500, 502, 503, 504, 529:
		return true
	}
	return false
}
