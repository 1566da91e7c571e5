package runs

import (
	"math/rand/v2"
	"strings"
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

// BenchmarkRedactWebhookText is redact on what one delivery stores: a
// title, a ticket URL and a 2 KB comment without any credential, the
// common case the literal pre-checks keep cheap.
func BenchmarkRedactWebhookText(b *testing.B) {
	comment := strings.Repeat("The checkout page shows a 500 after the coupon field is cleared; see https://shop.example/cart?id=42 and the trace below.\n", 16)
	texts := []string{"Checkout fails when the coupon is removed", "https://github.com/acme/shop/issues/4711", comment}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range texts {
			_ = redact(s)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// tokenGen makes token-shaped strings from a fixed seed, so the table
// below is the same on every run.
type tokenGen struct{ r *rand.Rand }

const (
	base62  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	urlSafe = base62 + "-_"
	base32  = "abcdefghijklmnopqrstuvwxyz234567"
	hexLow  = "0123456789abcdef"
)

func (g tokenGen) of(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

// adoPAT is an Azure DevOps token of the 84-character format: 52
// characters, the JQQJ9 signature, a provider byte, a date letter A–L,
// 16 characters, a letter and 7 more (microsoft/security-utilities,
// SEC101/200). signature replaces JQQJ9 for near misses.
func (g tokenGen) adoPAT(signature string) string {
	return g.of(base62, 52) + signature + "9" + g.of(base62, 1) + g.of("ABCDEFGHIJKL", 1) +
		g.of(base62, 16) + g.of("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1) + g.of(base62, 7)
}

// TestRedactionCoversTokenFormats proves every credential format of the
// four trackers and five model providers is redacted where it appears in
// free text, and that a near miss of each (wrong length, alphabet or
// signature) is left alone, so ordinary output keeps its meaning.
func TestRedactionCoversTokenFormats(t *testing.T) {
	g := tokenGen{rand.New(rand.NewChaCha8([32]byte{14}))}
	for _, tc := range []struct {
		// format names the format and its source.
		format          string
		token, nearMiss string
	}{
		{"GitHub classic PAT ghp_ (GitHub 2021 token formats; gitleaks github-pat)", "ghp_" + g.of(base62, 36), "ghp_" + g.of(base62, 30)},
		{"GitHub OAuth gho_", "gho_" + g.of(base62, 36), "ghx_" + g.of(base62, 36)},
		{"GitHub user-to-server ghu_", "ghu_" + g.of(base62, 36), "ghu-" + g.of(base62, 36)},
		{"GitHub App installation ghs_ (gitleaks github-app-token)", "ghs_" + g.of(base62, 36), "ghs_" + g.of(base62, 35)},
		{"GitHub refresh ghr_", "ghr_" + g.of(base62, 76), "ghr_" + g.of(base62, 20)},
		{"GitHub fine-grained github_pat_ (gitleaks github-fine-grained-pat)", "github_pat_" + g.of(base62, 22) + "_" + g.of(base62, 59), "github_pat_" + g.of(base62, 40)},
		{"GitLab PAT glpat- (gitleaks gitlab-pat)", "glpat-" + g.of(urlSafe, 20), "glpat-" + g.of(base62, 19)},
		{"GitLab routable PAT (gitleaks gitlab-pat-routable)", "glpat-" + g.of(urlSafe, 27) + ".01." + g.of(base32, 9), "glpat" + g.of(base62, 27)},
		{"GitLab runner glrt- (gitleaks gitlab-runner-authentication-token)", "glrt-" + g.of(urlSafe, 20), "glrt-" + g.of(base62, 12)},
		{"GitLab deploy token gldt-", "gldt-" + g.of(urlSafe, 20), "gldx-" + g.of(urlSafe, 20)},
		{"GitLab pipeline trigger glptt-", "glptt-" + g.of(base62, 40), "glptt-" + g.of(base62, 10)},
		{"GitLab feed token glft-", "glft-" + g.of(urlSafe, 20), "glft-" + g.of(urlSafe, 8)},
		{"GitLab CI job token glcbt-", "glcbt-" + g.of(urlSafe, 26), "glcbt" + g.of(urlSafe, 26)},
		{"GitLab OAuth secret gloas-", "gloas-" + g.of(base62, 64), "gloas-" + g.of(base62, 5)},
		{"GitLab SCIM glsoat-", "glsoat-" + g.of(urlSafe, 20), "glsoat-" + g.of(urlSafe, 19)},
		{"GitLab agent glagent-", "glagent-" + g.of(urlSafe, 50), "glagent-" + g.of(urlSafe, 3)},
		{"GitLab incoming mail glimt-", "glimt-" + g.of(urlSafe, 25), "glimt-" + g.of(urlSafe, 15)},
		{"GitLab feature flags client glffct-", "glffct-" + g.of(urlSafe, 20), "glffct-" + g.of(urlSafe, 11)},
		{"Azure DevOps PAT, 84 characters (security-utilities SEC101/200)", g.adoPAT("JQQJ9"), g.adoPAT("JQQJ8")},
		{"Azure DevOps PAT, legacy 52 characters base32", g.of(base32, 52), g.of(base32, 51)},
		{"Atlassian API token ATATT3 (gitleaks atlassian-api-token)", "ATATT3" + g.of(urlSafe, 180) + "=" + g.of("0123456789ABCDEF", 8), "ATATT3" + g.of(base62, 40)},
		{"Atlassian container token ATCTT3", "ATCTT3" + g.of(urlSafe, 150), "ATXTT3" + g.of(urlSafe, 150)},
		{"OpenAI project key sk-proj- (gitleaks openai-api-key)", "sk-proj-" + g.of(urlSafe, 74) + "T3BlbkFJ" + g.of(urlSafe, 74), "sk-proj-" + g.of(base62, 8)},
		{"OpenAI service account key sk-svcacct-", "sk-svcacct-" + g.of(urlSafe, 100), "sk_svcacct-" + g.of(urlSafe, 100)},
		{"OpenAI admin key sk-admin-", "sk-admin-" + g.of(urlSafe, 100), "sk-admin-" + g.of(base62, 5)},
		{"OpenAI legacy key sk-", "sk-" + g.of(base62, 48), "sk-" + g.of(base62, 12)},
		{"Anthropic API key sk-ant-api03- (gitleaks anthropic-api-key)", "sk-ant-api03-" + g.of(urlSafe, 93) + "AA", "sk-ant-api03-" + g.of(base62, 5)},
		{"Anthropic admin key sk-ant-admin01- (gitleaks anthropic-admin-api-key)", "sk-ant-admin01-" + g.of(urlSafe, 93) + "AA", "sk_ant_admin01_" + g.of(base62, 4)},
		{"Google API key AIza (gitleaks gcp-api-key)", "AIza" + g.of(urlSafe, 35), "AIza" + g.of(urlSafe, 20)},
		{"Slack token", "xoxb-" + g.of(base62, 24), "xoxq-" + g.of(base62, 24)},
		{"AWS access key id", "AKIA" + g.of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), "AKIA" + g.of("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10)},
	} {
		t.Run(tc.format, func(t *testing.T) {
			g := NewWithT(t)
			line := "fatal: request with " + tc.token + " refused"
			g.Expect(redact(line)).To(Equal("fatal: request with [REDACTED] refused"))
			near := "fatal: request with " + tc.nearMiss + " refused"
			g.Expect(redact(near)).To(Equal(near), "a near miss is ordinary text")
		})
	}

	t.Run("Azure keys are 32 hex digits next to a key name; MD5 sums and UUIDs stay", func(t *testing.T) {
		g := NewWithT(t)
		key := tokenGen{rand.New(rand.NewChaCha8([32]byte{32}))}.of(hexLow, 32)
		for _, named := range []string{"api-key: ", "AZURE_OPENAI_API_KEY=", "Ocp-Apim-Subscription-Key: ", `"subscription_key": "`} {
			g.Expect(redact(named+key)).To(Equal(named+"[REDACTED]"), named)
		}
		md5 := "d41d8cd98f00b204e9800998ecf8427e  empty.txt"
		uuid := "request 0f8fad5bd9cb469fa16570867728950e and 0f8fad5b-d9cb-469f-a165-70867728950e failed"
		g.Expect(redact(md5)).To(Equal(md5))
		g.Expect(redact(uuid)).To(Equal(uuid))
	})

	t.Run("two tokens on one line", func(t *testing.T) {
		line := "GITHUB_TOKEN=ghs_" + g.of(base62, 36) + " OPENAI_API_KEY=sk-proj-" + g.of(urlSafe, 60)
		NewWithT(t).Expect(redact(line)).To(Equal("GITHUB_TOKEN=[REDACTED] OPENAI_API_KEY=[REDACTED]"))
	})
}
