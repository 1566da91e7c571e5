package config_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/agent-smith/agent-smith/config"
)

func TestPipelineForLabels(t *testing.T) {
	cfg := mustParse(t, baseDoc+webProject+`    default_pipeline: fix-no-test
    pipeline_from_label:
      Feature: add-feature
  other:
    agent: claude
    tracker: issues
    repos: [api]
pipeline_triggers:
  agent-smith:init: init-project
  feature: fix-bug
`)
	cases := []struct {
		project string
		labels  []string
		want    string
	}{
		{"web", nil, "fix-no-test"},
		{"web", []string{"agent-smith", "bug"}, "fix-no-test"},
		{"web", []string{"feature"}, "add-feature"},
		{"web", []string{"agent-smith:init", "FEATURE"}, "add-feature"},
		{"web", []string{"agent-smith:init"}, "init-project"},
		{"other", []string{"feature"}, "fix-bug"},
		{"other", []string{"docs"}, "fix-bug"},
		{"unknown", []string{"feature"}, "fix-bug"},
	}
	for _, tc := range cases {
		if got := cfg.PipelineFor(tc.project, tc.labels); got != tc.want {
			t.Errorf("PipelineFor(%s, %v) = %q, want %q", tc.project, tc.labels, got, tc.want)
		}
	}
}

func TestToolchainImageChoice(t *testing.T) {
	cfg := mustParse(t, catalog("", `  web:
    type: github
    url: https://github.com/acme/web
    auth: github_token
    language: TypeScript
  billing:
    type: github
    url: https://github.com/acme/billing
    auth: github_token
    language: csharp
  tool:
    type: github
    url: https://github.com/acme/tool
    auth: github_token
    toolchain_image: ghcr.io/acme/tool-build:3
`, "")+webProject+`  pinned:
    agent: claude
    tracker: issues
    repos: [api]
    sandbox:
      toolchain_image: ghcr.io/acme/pinned:1
`)
	cases := []struct {
		project, repo, want string
	}{
		{"web", "tool", "ghcr.io/acme/tool-build:3"},
		{"web", "web", "node:20-bookworm-slim"},
		{"web", "billing", "mcr.microsoft.com/dotnet/sdk:8.0"},
		{"web", "api", "buildpack-deps:bookworm-scm"},
		{"web", "unknown", "buildpack-deps:bookworm-scm"},
		{"pinned", "api", "ghcr.io/acme/pinned:1"},
		{"pinned", "tool", "ghcr.io/acme/pinned:1"},
	}
	for _, tc := range cases {
		if got := cfg.ToolchainImage(tc.project, tc.repo); got != tc.want {
			t.Errorf("ToolchainImage(%s, %s) = %q, want %q", tc.project, tc.repo, got, tc.want)
		}
	}
}

func TestAgentImage(t *testing.T) {
	s := config.Sandbox{AgentRegistry: "registry.acme/agents"}
	if got := s.ResolveAgentImage("1.2.3"); got != "registry.acme/agents/agent-smith:1.2.3" {
		t.Errorf("empty agent_version: %q", got)
	}
	s.AgentImage = "registry.acme/custom@sha256:abc"
	if got := s.ResolveAgentImage("1.2.3"); got != s.AgentImage {
		t.Errorf("agent_image override: %q", got)
	}
}

func TestWebhookRoutesNeedASecretAndAUniqueType(t *testing.T) {
	cfg := mustParse(t, catalog("", "", `  upstream:
    type: github
    project: acme/upstream
    auth: github_token
    webhook_secret: ${GITHUB_WEBHOOK_SECRET}
  quiet:
    type: gitlab
    project: acme/quiet
    auth: github_token
  boards:
    type: azure_devops
    organization: acme-org
    project: Platform
    auth: github_token
    webhook_secret: ${AZURE_DEVOPS_WEBHOOK_SECRET}
`)+webProject)
	want := map[string]string{
		"/webhooks/github/issues":       "issues",
		"/webhooks/github/upstream":     "upstream",
		"/webhooks/azure_devops/boards": "boards",
		"/webhooks/azure_devops":        "boards",
	}
	if got := cfg.WebhookRoutes(); !maps.Equal(got, want) {
		t.Errorf("WebhookRoutes() = %v, want %v", got, want)
	}
	var b strings.Builder
	cfg.WriteSummary(&b)
	out := b.String()
	for _, s := range []string{
		"webhooks POST /webhooks/azure_devops, /webhooks/azure_devops/boards",
		"webhooks POST /webhooks/github/issues",
		"webhooks refused: no webhook_secret",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("summary lacks %q:\n%s", s, out)
		}
	}
}
