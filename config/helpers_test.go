package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

// Secret values the tests put in the environment; none may leak.
var testSecrets = map[string]string{
	"GITHUB_TOKEN":                "ghp-test-token-0123456789",
	"GITHUB_WEBHOOK_SECRET":       "gh-hook-secret-abcdef",
	"ANTHROPIC_API_KEY":           "sk-ant-test-key-9876543210",
	"AZURE_OPENAI_API_KEY":        "azure-oai-key-5555555555",
	"AZURE_DEVOPS_TOKEN":          "ado-pat-7777777777",
	"AZURE_DEVOPS_WEBHOOK_SECRET": "ado-hook-secret-8888888888",
}

// kinds are the tracker and provider types agent-smith ships: config
// knows none itself, and its tests read real configs.
func kinds() config.Kinds {
	return config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()}
}

// envWith is testSecrets with overrides; an override of "-" unsets.
func envWith(overrides map[string]string) func(string) (string, bool) {
	env := map[string]string{}
	for k, v := range testSecrets {
		env[k] = v
	}
	for k, v := range overrides {
		if v == "-" {
			delete(env, k)
			continue
		}
		env[k] = v
	}
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// catalog is a valid config without projects, with extra entries for the
// agents, repos and trackers blocks; tests append further blocks to it.
func catalog(agents, repos, trackers string) string {
	return `agents:
  claude:
    type: anthropic
    model: claude-sonnet-4
` + agents + `repos:
  api:
    type: github
    url: https://github.com/acme/api
    auth: github_token
` + repos + `trackers:
  issues:
    type: github
    project: acme/api
    auth: github_token
    webhook_secret: ${GITHUB_WEBHOOK_SECRET}
` + trackers + `skills:
  version: v3.0.1
secrets:
  github_token: ${GITHUB_TOKEN}
  anthropic_api_key: ${ANTHROPIC_API_KEY}
`
}

var baseDoc = catalog("", "", "")

const webProject = `projects:
  web:
    agent: claude
    tracker: issues
    repos: [api]
`

func mustParse(t *testing.T, doc string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(doc), "agentsmith.yml", envWith(nil), kinds())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func parseErrors(t *testing.T, doc string, env func(string) (string, bool)) config.Errors {
	t.Helper()
	cfg, err := config.Parse([]byte(doc), "agentsmith.yml", env, kinds())
	if err == nil {
		t.Fatalf("Parse succeeded, want errors; config: %+v", cfg)
	}
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, want config.Errors: %v", err, err)
	}
	return errs
}

// lineOf is the 1-based line of doc that contains mark.
func lineOf(t *testing.T, doc, mark string) int {
	t.Helper()
	for i, line := range strings.Split(doc, "\n") {
		if strings.Contains(line, mark) {
			return i + 1
		}
	}
	t.Fatalf("test document has no line with %q", mark)
	return 0
}
