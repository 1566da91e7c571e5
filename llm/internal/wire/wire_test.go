package wire

import (
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestRetryAfterReadsEveryDocumentedForm(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"seconds", map[string]string{"Retry-After": "20"}, 20 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "1.5"}, 1500 * time.Millisecond},
		{"http date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"milliseconds first", map[string]string{"Retry-After-Ms": "250", "Retry-After": "1"}, 250 * time.Millisecond},
		{"past date", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0},
		{"none", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			NewWithT(t).Expect(RetryAfter(h, now)).To(Equal(tc.want))
		})
	}
}

func TestAuthenticationFailuresCarryNoProviderMessage(t *testing.T) {
	g := NewWithT(t)
	e := Endpoint{Provider: "openai", Secret: "sk-secret-value"}
	err := e.APIError(&Failure{Status: 401, Header: http.Header{}}, "invalid_api_key", "Incorrect API key provided: sk-sec***alue")
	g.Expect(err.Error()).NotTo(ContainSubstring("sk-sec"))
	g.Expect(err.Message).To(ContainSubstring("api_key_secret"))
	g.Expect(err.Retryable).To(BeFalse())

	err = e.APIError(&Failure{Status: 400, Header: http.Header{}}, "", "bad header sk-secret-value")
	g.Expect(err.Error()).To(Equal("openai: HTTP 400: bad header <redacted>"))
}
