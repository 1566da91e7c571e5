package kube_test

import (
	"testing"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/sandbox/kube"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

// testConfig is an agentsmith.yml with repositories that exercise every way
// of picking a toolchain image and of handing over a credential.
const testConfig = `sandbox:
  agent_registry: registry.example/acme
  toolchain_images:
    python: python:3.12-slim
agents:
  claude:
    type: anthropic
    model: claude-sonnet-4
repos:
  api:
    type: github
    url: https://github.com/acme/api
    auth: github_token
  web:
    type: github
    url: https://github.com/acme/web
    auth: github_token
    language: python
  tools:
    type: github
    url: https://github.com/acme/tools
    auth: github_token
    toolchain_image: ghcr.io/acme/tools-ci:7
  docs:
    type: git
    url: https://git.example/acme/docs.git
  legacy:
    type: github
    url: https://github.com/acme/legacy
    auth: inline_token
  Billing_Service.v2:
    type: github
    url: https://github.com/acme/billing
    auth: github_token
trackers:
  issues:
    type: github
    project: acme/api
    auth: github_token
    webhook_secret: ${GITHUB_WEBHOOK_SECRET}
projects:
  todo:
    agent: claude
    tracker: issues
    repos: [api, web, tools, docs, legacy, Billing_Service.v2]
  heavy:
    agent: claude
    tracker: issues
    repos: [api, web, tools]
    sandbox:
      toolchain_image: ghcr.io/acme/heavy:2
      agent_version: 9.9.9
      run_as_root: true
      resources:
        cpu_request: "2"
        memory_request: 4Gi
        cpu_limit: "4"
        memory_limit: 8Gi
skills:
  version: v3.0.1
secrets:
  github_token: ${GITHUB_TOKEN}
  inline_token: not-from-the-environment
  anthropic_api_key: ${ANTHROPIC_API_KEY}
`

func loadConfig(t testing.TB) *config.Config {
	t.Helper()
	env := map[string]string{
		"GITHUB_TOKEN": "ghp_test0123456789abcdefghij", "GITHUB_WEBHOOK_SECRET": "hook", "ANTHROPIC_API_KEY": "sk-ant-test",
	}
	cfg, err := config.Parse([]byte(testConfig), "agentsmith.yml", func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}, config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	if err != nil {
		t.Fatalf("test config: %v", err)
	}
	return cfg
}

func newBuilder(t testing.TB, redisURL string) *kube.Builder {
	t.Helper()
	b, err := kube.NewBuilder(kube.BuilderParams{
		Namespace: "agent-smith", OwnerName: "agent-smith-orchestrator-7d9f8-x2x4q",
		OwnerUID: "0b6a1e8c-5f43-4d7e-9a51-6c2f0e7d1a42", RedisURL: redisURL, Image: "registry.test/agent-smith:1.2.3",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const runID = "20261128-210501-k3x9"
