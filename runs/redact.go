package runs

import "regexp"

// redactions scrub credentials from free text before it reaches Redis. Runs
// never carry credentials by design; this catches the ones that leak in
// through error output (a git URL with a token, an echoed header).
var redactions = []struct {
	re   *regexp.Regexp
	with string
}{
	// userinfo in URLs: https://x-access-token:TOKEN@host/…
	{regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@`), "${1}[REDACTED]@"},
	// Authorization header values.
	{regexp.MustCompile(`(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}`), "${1}${2}[REDACTED]"},
	// Well-known token shapes: GitHub, GitLab, Slack, OpenAI/Anthropic, AWS.
	{regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})\b`), "[REDACTED]"},
}

func redact(s string) string {
	for _, r := range redactions {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}

func redactMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = redact(v)
	}
	return out
}
