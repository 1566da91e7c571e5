package runs

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestRedactRemovesCredentialsFromFreeText(t *testing.T) {
	for _, tc := range []struct {
		in, secret, kept string
	}{
		{"fatal: unable to access 'https://x-access-token:ghs_abcdefghijklmnopqrstuvwx@github.com/acme/shop.git/'", "ghs_abcdefghijklmnopqrstuvwx", "github.com/acme/shop.git"},
		{"clone https://oauth2:glpat-abcdefghijklmnopqrst@gitlab.com/acme/shop", "glpat-abcdefghijklmnopqrst", "gitlab.com/acme/shop"},
		{"token ghp_0123456789abcdefghijABCDEFGHIJ leaked", "ghp_0123456789abcdefghijABCDEFGHIJ", "leaked"},
		{"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9", "Authorization: Bearer"},
		{"key sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz", "key"},
		{"aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "aws"},
		{"github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "11ABCDEFG0123456789", ""},
	} {
		out := redact(tc.in)
		g := NewWithT(t)
		g.Expect(out).NotTo(ContainSubstring(tc.secret), tc.in)
		g.Expect(out).To(ContainSubstring(tc.kept), tc.in)
	}
}

func TestRedactKeepsOrdinaryText(t *testing.T) {
	for _, s := range []string{
		"https://github.com/acme/shop/pull/12",
		"step plan: 3 files changed, tests pass",
		"user@example.com wrote a comment",
	} {
		NewWithT(t).Expect(redact(s)).To(Equal(s))
	}
}
