package config_test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactedNeverContainsASecretValue(t *testing.T) {
	cfg := mustParse(t, catalog("", `  mirror:
    type: git
    url: https://deploy:${GITHUB_TOKEN}@git.acme.corp/api.git
    test_command: NPM_TOKEN=${GITHUB_TOKEN} npm test
  bare:
    type: git
    url: https://${ANTHROPIC_API_KEY}@git.acme.corp/bare.git
`, "")+webProject)
	red := cfg.Redacted()
	out, err := json.Marshal(red)
	if err != nil {
		t.Fatal(err)
	}
	var summary strings.Builder
	cfg.WriteSummary(&summary)
	for name, secret := range testSecrets {
		if strings.Contains(string(out), secret) {
			t.Errorf("redacted config contains %s:\n%s", name, out)
		}
		if strings.Contains(summary.String(), secret) {
			t.Errorf("summary contains %s:\n%s", name, summary.String())
		}
	}
	checks := []struct{ name, got, want string }{
		{"secrets value", red.Secrets["github_token"], "<redacted>"},
		{"webhook_secret", red.Trackers["issues"].WebhookSecret, "<redacted>"},
		{"url password", red.Repos["mirror"].URL, "https://deploy:<redacted>@git.acme.corp/api.git"},
		{"url token as user", red.Repos["bare"].URL, "https://<redacted>@git.acme.corp/bare.git"},
		{"secret inside a command", red.Repos["mirror"].TestCommand, "NPM_TOKEN=<redacted> npm test"},
		{"plain value kept", red.Repos["api"].URL, "https://github.com/acme/api"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if red.SecretEnv["github_token"] != "GITHUB_TOKEN" {
		t.Errorf("SecretEnv names are not secrets and must survive: %v", red.SecretEnv)
	}
}

func TestRedactedIsADeepCopy(t *testing.T) {
	cfg := mustParse(t, baseDoc+webProject)
	red := cfg.Redacted()
	red.Projects["web"].Repos[0] = "changed"
	red.Sandbox.ToolchainImages["go"] = "changed"
	red.Projects["web"].Trigger().CommentKeyword = "changed"
	if cfg.Projects["web"].Repos[0] != "api" || cfg.Sandbox.ToolchainImages["go"] == "changed" ||
		cfg.Projects["web"].Trigger().CommentKeyword != "/agent-smith" {
		t.Error("changing the redacted copy changed the original")
	}
	if cfg.Secrets["github_token"] != testSecrets["GITHUB_TOKEN"] {
		t.Error("Redacted changed the original's secrets")
	}
}

// An error message must not echo an expanded value: it may be a secret.
func TestErrorsNeverContainExpandedValues(t *testing.T) {
	errs := parseErrors(t, catalog("", `  web:
    type: ${GITHUB_TOKEN}
    url: ${ANTHROPIC_API_KEY}
`, "")+webProject+`queue:
  max_parallel_jobs: ${GITHUB_TOKEN}
`, envWith(nil))
	msg := errs.Error()
	for name, secret := range testSecrets {
		if strings.Contains(msg, secret) {
			t.Errorf("errors contain %s:\n%s", name, msg)
		}
	}
	if !strings.Contains(msg, `queue.max_parallel_jobs: want an integer, got the expansion of "${GITHUB_TOKEN}"`) {
		t.Errorf("errors do not explain the expanded value:\n%s", msg)
	}
}
