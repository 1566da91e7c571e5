// Package scrub masks the secrets a sandbox process was given in every
// byte it sends out: the agent masks its own API token, the git gate its
// token and the git credential of the step. Each secret is masked as it
// is and in the encodings a command would print it in (base64, URL query
// escaping, the base64 of HTTP basic auth), also when a write splits it.
//
// It imports nothing of agent-smith: the agent and the gate stay small.
package scrub

import (
	"encoding/base64"
	"io"
	"net/url"
	"slices"
	"strings"
)

// Mask replaces every secret found.
const Mask = "[REDACTED]"

// MinLen is the shortest secret masked: a shorter value would garble
// ordinary words, and real credentials are far longer.
const MinLen = 8

// basicAuthUsers are the user names git and curl send a token with in
// HTTP basic auth (GitHub's x-access-token, GitLab's oauth2, none).
var basicAuthUsers = []string{"x-access-token:", "oauth2:", ":"}

// Scrubber masks a fixed set of secrets. The zero value and nil mask
// nothing.
type Scrubber struct {
	r      *strings.Replacer
	forms  []string
	maxLen int
}

// New returns a scrubber of secrets; values shorter than MinLen are
// ignored.
func New(secrets ...string) *Scrubber {
	seen := map[string]bool{}
	var forms []string
	add := func(s string) {
		if len(s) >= MinLen && !seen[s] {
			seen[s] = true
			forms = append(forms, s)
		}
	}
	for _, s := range secrets {
		if len(s) < MinLen {
			continue
		}
		add(s)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString([]byte(s)))
		}
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		for _, u := range basicAuthUsers {
			add(base64.StdEncoding.EncodeToString([]byte(u + s)))
		}
	}
	if len(forms) == 0 {
		return &Scrubber{}
	}
	// Longest first: a form that contains another is masked whole.
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Mask)
	}
	return &Scrubber{r: strings.NewReplacer(pairs...), forms: forms, maxLen: len(forms[0])}
}

// String returns s with every secret masked.
func (s *Scrubber) String(in string) string {
	if s == nil || s.r == nil {
		return in
	}
	return s.r.Replace(in)
}

// Writer returns a writer that masks what is written to it before it
// reaches w. It holds back the end of a write only when it could be the
// start of a secret completed by the next one (so a line of output is
// passed on at once); Flush writes it out.
func (s *Scrubber) Writer(w io.Writer) *Writer { return &Writer{s: s, w: w} }

// Writer is the masking writer of a Scrubber. It is not safe for
// concurrent use.
type Writer struct {
	s       *Scrubber
	w       io.Writer
	pending string
}

// Write masks and passes on p, less a held-back tail; it reports len(p)
// when the underlying writer took everything it was given.
func (w *Writer) Write(p []byte) (int, error) {
	if w.s == nil || w.s.r == nil {
		return w.w.Write(p)
	}
	text := w.s.String(w.pending + string(p))
	keep := w.s.openPrefix(text)
	out := text[:len(text)-keep]
	w.pending = text[len(text)-keep:]
	if out == "" {
		return len(p), nil
	}
	if _, err := io.WriteString(w.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// openPrefix is the length of the longest end of text that begins a
// secret's form without completing it.
func (s *Scrubber) openPrefix(text string) int {
	for k := min(len(text), s.maxLen-1); k > 0; k-- {
		tail := text[len(text)-k:]
		for _, f := range s.forms {
			if len(f) > k && strings.HasPrefix(f, tail) {
				return k
			}
		}
	}
	return 0
}

// Flush writes out the held-back tail, masked.
func (w *Writer) Flush() error {
	if w.pending == "" {
		return nil
	}
	rest := w.s.String(w.pending)
	w.pending = ""
	_, err := io.WriteString(w.w, rest)
	return err
}
