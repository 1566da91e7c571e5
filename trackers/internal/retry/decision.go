package retry

import (
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Decision is whether and when to send a failed call again.
type Decision struct {
	Retry bool
	Wait  time.Duration
	// RateLimited waits hold back every call of the client, not only the
	// one that was refused.
	RateLimited bool
}

// maxDelaySeconds keeps a Retry-After in seconds within what a Duration
// holds; any such wait is far beyond a call's MaxWait anyway.
const maxDelaySeconds = math.MaxInt64 / float64(time.Second)

// RetryAfter reads Retry-After in either of its forms: delay-seconds or an
// HTTP date, which counts from now and is 0 once past. A fraction of a
// second is honoured rather than ignored: a wait the tracker names beats
// one guessed.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && s < maxDelaySeconds {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Transient reports a request that failed on the way (connection refused
// or reset, timeout, an answer cut short), as opposed to one the tracker,
// or a token exchange in front of it, answered with a refusal.
func Transient(err error) bool {
	ue, ok := errors.AsType[*url.Error](err)
	if !ok {
		return false
	}
	_, netErr := errors.AsType[*net.OpError](ue.Err)
	return netErr || ue.Timeout() || errors.Is(ue.Err, io.EOF) || errors.Is(ue.Err, io.ErrUnexpectedEOF)
}
