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

// Sandboxes inject the agent from the orchestrator's own image; the
// sandbox block replaces its registry, its tag, or the whole reference.
func TestAgentImageIsTheOrchestratorsOwnUnlessOverridden(t *testing.T) {
	cases := []struct {
		name string
		s    config.Sandbox
		own  string
		want string
	}{
		{"own image", config.Sandbox{}, "ghcr.io/agent-smith/agent-smith:v0.2.0", "ghcr.io/agent-smith/agent-smith:v0.2.0"},
		{"registry with a port is not a tag", config.Sandbox{}, "localhost:5000/me/agent-smith:dev", "localhost:5000/me/agent-smith:dev"},
		{"untagged own image", config.Sandbox{AgentVersion: "v1"}, "localhost:5000/me/agent-smith", "localhost:5000/me/agent-smith:v1"},
		{"agent_registry", config.Sandbox{AgentRegistry: "registry.acme/agents"}, "ghcr.io/agent-smith/agent-smith:1.2.3", "registry.acme/agents/agent-smith:1.2.3"},
		{"agent_version", config.Sandbox{AgentVersion: "1.2.4"}, "ghcr.io/agent-smith/agent-smith:1.2.3", "ghcr.io/agent-smith/agent-smith:1.2.4"},
		{"both", config.Sandbox{AgentRegistry: "acme", AgentVersion: "7"}, "ghcr.io/agent-smith/agent-smith:1.2.3", "acme/agent-smith:7"},
		{"agent_image wins", config.Sandbox{AgentRegistry: "acme", AgentImage: "registry.acme/custom@sha256:abc"}, "ghcr.io/agent-smith/agent-smith:1.2.3", "registry.acme/custom@sha256:abc"},
	}
	for _, tc := range cases {
		if got := tc.s.ResolveAgentImage(tc.own); got != tc.want {
			t.Errorf("%s: ResolveAgentImage(%q) = %q, want %q", tc.name, tc.own, got, tc.want)
		}
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
