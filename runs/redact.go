package runs

import (
	"regexp"
	"strings"
)

// redactions scrub credentials from free text before it reaches Redis. Runs
// never carry credentials by design; this catches the ones that leak in
// through error output (a git URL with a token, an echoed header). Each
// rule has a cheap literal test first: most text (titles, labels, steps)
// matches none, and the regexes were a third of a webhook's cost.
var redactions = []struct {
	maybe func(s, lower string) bool
	re    *regexp.Regexp
	with  string
}{
	// userinfo in URLs: https://x-access-token:TOKEN@host/…
	{
		func(s, _ string) bool { return strings.Contains(s, "://") && strings.Contains(s, "@") },
		regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@`), "${1}[REDACTED]@",
	},
	// Authorization header values.
	{
		func(_, lower string) bool {
			return strings.Contains(lower, "bearer") || strings.Contains(lower, "basic") || strings.Contains(lower, "token")
		},
		regexp.MustCompile(`(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}`), "${1}${2}[REDACTED]",
	},
	// Well-known token shapes: GitHub, GitLab, Slack, OpenAI/Anthropic, AWS.
	{
		func(s, _ string) bool {
			for _, p := range []string{"gh", "github_pat_", "glpat-", "xox", "sk-", "AKIA"} {
				if strings.Contains(s, p) {
					return true
				}
			}
			return false
		},
		regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})\b`), "[REDACTED]",
	},
}

func redact(s string) string {
	if s == "" {
		return s
	}
	lower := strings.ToLower(s)
	for _, r := range redactions {
		if r.maybe(s, lower) {
			s = r.re.ReplaceAllString(s, r.with)
		}
	}
	return s
}
