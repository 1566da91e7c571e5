package kube_test

import (
	"net"
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
  runtime_class_name: gvisor
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
    allow_ci_config_changes: true
    sandbox:
      toolchain_image: ghcr.io/acme/heavy:2
      agent_version: 9.9.9
      run_as_root: true
      resources:
        cpu_request: "2"
        memory_request: 4Gi
        cpu_limit: "4"
        memory_limit: 8Gi
        ephemeral_storage_limit: 50Gi
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

// apiCert stands for the sandbox API's certificate: public, and only
// copied into pods by the builder.
const apiCert = "-----BEGIN CERTIFICATE-----\nMIIBdTCCARugAwIBAgIQGateway\n-----END CERTIFICATE-----\n"

func newBuilder(t testing.TB) *kube.Builder {
	t.Helper()
	b, err := kube.NewBuilder(kube.BuilderParams{
		Namespace: "agent-smith", OwnerName: "agent-smith-orchestrator-7d9f8-x2x4q",
		OwnerUID: "0b6a1e8c-5f43-4d7e-9a51-6c2f0e7d1a42", APIURL: "https://10.0.3.7:8443", APICert: []byte(apiCert), Image: "registry.test/agent-smith:1.2.3",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const runID = "20261128-210501-k3x9"

func newListener() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
