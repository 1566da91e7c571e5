package scrub_test

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/sandbox/internal/scrub"
)

const secret = "ghp_Zx9/vK+q7Lm2Np4Rt6Vw8Yb0Cd3Ef5Gh1Jk"

func TestScrubMasksEncodedAndSplitSecrets(t *testing.T) {
	s := scrub.New(secret, "short", "")
	tests := []struct{ name, in string }{
		{"raw", "token=" + secret + "\n"},
		{"base64", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(secret))},
		{"base64url", base64.URLEncoding.EncodeToString([]byte(secret))},
		{"unpadded base64", base64.RawStdEncoding.EncodeToString([]byte(secret))},
		{"query escaped", "https://example.com/?t=" + url.QueryEscape(secret)},
		{"path escaped", "https://example.com/" + url.PathEscape(secret)},
		{"basic auth of git", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+secret))},
		{"basic auth of GitLab", base64.StdEncoding.EncodeToString([]byte("oauth2:" + secret))},
		{"twice on a line", secret + " and " + secret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := s.String(tt.in)
			g.Expect(got).To(ContainSubstring(scrub.Mask))
			g.Expect(got).NotTo(ContainSubstring(secret))
			g.Expect(got).NotTo(ContainSubstring(base64.StdEncoding.EncodeToString([]byte(secret))[:20]))

			// The same text written in pieces of every size.
			for size := 1; size <= len(tt.in); size += 3 {
				var out bytes.Buffer
				w := s.Writer(&out)
				for i := 0; i < len(tt.in); i += size {
					n, err := w.Write([]byte(tt.in[i:min(i+size, len(tt.in))]))
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(n).To(Equal(min(size, len(tt.in)-i)))
				}
				g.Expect(w.Flush()).To(Succeed())
				g.Expect(out.String()).To(Equal(got), "written %d bytes at a time", size)
			}
		})
	}
}

func TestScrubLeavesOrdinaryTextAlone(t *testing.T) {
	g := NewWithT(t)
	s := scrub.New(secret, "short")
	text := "short words, a short secret and half a token: " + secret[:20]
	g.Expect(s.String(text)).To(Equal(text))
	var nilScrubber *scrub.Scrubber
	g.Expect(nilScrubber.String(secret)).To(Equal(secret))
	var out bytes.Buffer
	w := scrub.New().Writer(&out)
	_, _ = w.Write([]byte(strings.Repeat("x", 10)))
	g.Expect(w.Flush()).To(Succeed())
	g.Expect(out.String()).To(Equal(strings.Repeat("x", 10)))
}

func TestScrubWriterPassesALineOnAtOnce(t *testing.T) {
	g := NewWithT(t)
	var out bytes.Buffer
	w := scrub.New(secret).Writer(&out)
	_, _ = w.Write([]byte("12345\nready\n"))
	g.Expect(out.String()).To(Equal("12345\nready\n"), "nothing held back that cannot begin a secret")
	_, _ = w.Write([]byte("token: " + secret[:10]))
	g.Expect(out.String()).To(Equal("12345\nready\ntoken: "), "the start of a secret waits")
	_, _ = w.Write([]byte(secret[10:] + "\n"))
	g.Expect(out.String()).To(Equal("12345\nready\ntoken: " + scrub.Mask + "\n"))
}
