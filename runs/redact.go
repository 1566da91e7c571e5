package runs

import (
	"regexp"
	"strings"
)

// redaction is one credential shape: a cheap test that the text may hold
// it, then the regex that finds it. Most text (titles, labels, steps,
// comments) passes none of the tests, and the regexes were a third of a
// webhook's cost before the tests were there.
type redaction struct {
	// maybe gets the text and its ASCII lower case.
	maybe func(s, lower string) bool
	re    *regexp.Regexp
	with  string
}

// containsAny is a maybe test for rules that start with a literal.
func containsAny(literals ...string) func(s, _ string) bool {
	return func(s, _ string) bool {
		for _, l := range literals {
			if strings.Contains(s, l) {
				return true
			}
		}
		return false
	}
}

// redactions scrub credentials from free text before it reaches Redis. Runs
// never carry credentials by design; this catches the ones that leak in
// through error output (a git URL with a token, an echoed header, a key a
// test printed). The token formats are the four trackers' and the five
// model providers'; the sources of each regex are in
// /work/notes/issue14-design.md §8 and in TestRedactionCoversTokenFormats.
var redactions = []redaction{
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
	// GitHub: classic, OAuth, user-to-server, server-to-server (App
	// installation) and refresh tokens; fine-grained personal tokens.
	{
		func(s, _ string) bool {
			return strings.Contains(s, "github_pat_") || followedBy(s, "gh", "p_", "o_", "u_", "s_", "r_")
		},
		regexp.MustCompile(`\b(?:gh[pousr]_[0-9A-Za-z]{36,}|github_pat_[0-9A-Za-z_]{82,})\b`), "[REDACTED]",
	},
	// GitLab: personal, project and group access tokens (routable ones
	// with their suffix), runner tokens, and the other gl*- tokens
	// (deploy, pipeline trigger, feed, CI job, OAuth secret, SCIM, agent,
	// incoming mail, feature flags client).
	{
		func(s, _ string) bool {
			return followedBy(s, "gl", "pat-", "rt-", "dt-", "ptt-", "ft-", "cbt-", "oas-", "soat-", "agent-", "imt-", "ffct-")
		},
		regexp.MustCompile(`\bgl(?:pat|rt|dt|ptt|ft|cbt|oas|soat|agent|imt|ffct)-[0-9A-Za-z_-]{20,}(?:\.[0-9a-z]{2}\.?[0-9a-z]{7,})?\b`), "[REDACTED]",
	},
	// Azure DevOps personal access tokens of the 84-character format (and
	// the Azure keys sharing it): the JQQJ9 signature at offset 52.
	{
		containsAny("JQQJ9"),
		regexp.MustCompile(`\b[0-9A-Za-z]{52}JQQJ9[9DH][0-9A-Za-z][A-L][0-9A-Za-z]{16}[A-Za-z][0-9A-Za-z]{7}(?:[0-9A-Za-z]{2}==)?`), "[REDACTED]",
	},
	// Azure DevOps personal access tokens of the legacy format: 52
	// characters of lower-case base32.
	{
		func(s, _ string) bool { return hasBase32Run(s, 52) },
		regexp.MustCompile(`\b[a-z2-7]{52}\b`), "[REDACTED]",
	},
	// Atlassian API tokens (Jira) and their container tokens.
	{
		containsAny("ATATT3", "ATCTT3"),
		regexp.MustCompile(`\bAT[AC]TT3[0-9A-Za-z_=-]{100,}`), "[REDACTED]",
	},
	// Model providers: Anthropic, then OpenAI's project, service account,
	// admin and legacy keys (the wider rule also covers the first), Google
	// API keys (Gemini).
	{
		containsAny("sk-", "AIza"),
		regexp.MustCompile(`\b(?:sk-ant-(?:api03|admin01)-[0-9A-Za-z_-]{93}AA|sk-(?:proj-|svcacct-|admin-)?[0-9A-Za-z_-]{20,}|AIza[0-9A-Za-z_-]{35})\b`), "[REDACTED]",
	},
	// Azure OpenAI and other Cognitive Services keys are 32 hex digits:
	// redacted only next to a key name, so MD5 sums and dash-less UUIDs
	// in test output survive.
	{
		func(_, lower string) bool { return strings.Contains(lower, "key") },
		regexp.MustCompile(`(?i)\b(api[-_]?key|subscription[-_]?key|ocp-apim-subscription-key|azure[-_a-z]*key)(["'\s:=]+)[0-9a-f]{32}\b`), "${1}${2}[REDACTED]",
	},
	// Slack and AWS access key ids.
	{
		containsAny("xox", "AKIA"),
		regexp.MustCompile(`\b(?:xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b`), "[REDACTED]",
	},
}

// followedBy reports whether stem occurs in s followed by one of tails.
func followedBy(s, stem string, tails ...string) bool {
	for i := strings.Index(s, stem); i >= 0; {
		rest := s[i+len(stem):]
		for _, t := range tails {
			if strings.HasPrefix(rest, t) {
				return true
			}
		}
		next := strings.Index(rest, stem)
		if next < 0 {
			return false
		}
		i += len(stem) + next
	}
	return false
}

// hasBase32Run reports whether s has n consecutive characters of
// lower-case base32 ([a-z2-7]), the only way it can hold a legacy Azure
// DevOps token; one pass over the bytes, no allocation.
func hasBase32Run(s string, n int) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7') {
			if run++; run >= n {
				return true
			}
			continue
		}
		run = 0
	}
	return false
}

func redact(s string) string {
	if s == "" {
		return s
	}
	lower := strings.ToLower(s)
	for _, r := range redactions {
		if r.maybe(s, lower) {
			s = r.re.ReplaceAllString(s, r.with)
			lower = strings.ToLower(s)
		}
	}
	return s
}
