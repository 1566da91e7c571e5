package config_test

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/trackers/jira"
)

func TestTodoListExampleLoads(t *testing.T) {
	cfg, err := config.Load("testdata/todolist.yml", envWith(nil), kinds())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	p := cfg.Projects["azuredevops-todolist"]
	if p == nil {
		t.Fatal("project azuredevops-todolist missing")
	}
	if got := p.Repos; !slices.Equal(got, []string{"todolist-api", "todolist-worker", "todolist-web", "todolist-docs"}) {
		t.Errorf("repos = %v", got)
	}
	trig := p.Trigger()
	if trig == nil || trig.ProjectResolution != (config.ProjectResolution{Strategy: config.ResolveByAreaPath, Value: `Platform\TodoList`}) {
		t.Errorf("trigger = %+v", trig)
	}
	tr, ok := cfg.TrackerByName("acme-platform")
	if !ok || tr.WebhookSecret != testSecrets["AZURE_DEVOPS_WEBHOOK_SECRET"] || tr.Type != "azure_devops" {
		t.Errorf("tracker = %+v", tr)
	}
	if v, ok := cfg.Secret("azure_devops_token"); !ok || v != testSecrets["AZURE_DEVOPS_TOKEN"] {
		t.Errorf("Secret(azure_devops_token) = %q, %v", v, ok)
	}
	if got := cfg.Repos["todolist-api"].APIURL; got != "https://dev.azure.com/acme-org" {
		t.Errorf("derived api_url = %q", got)
	}
	if got := cfg.ProjectsForTracker("acme-platform"); !slices.Equal(got, []string{"azuredevops-todolist"}) {
		t.Errorf("ProjectsForTracker = %v", got)
	}
}

// A minimal config gets every documented default.
func TestDefaultsFillKeysTheFileLeavesOut(t *testing.T) {
	cfg := mustParse(t, baseDoc+webProject)
	a, tr, p := cfg.Agents["claude"], cfg.Trackers["issues"], cfg.Projects["web"]
	cases := []struct {
		name      string
		got, want any
	}{
		{"sandbox.agent_registry", cfg.Sandbox.AgentRegistry, ""},
		{"sandbox.agent_version", cfg.Sandbox.AgentVersion, ""},
		{"sandbox.secret_name", cfg.Sandbox.SecretName, "agent-smith-secrets"},
		{"sandbox.toolchain_images.go", cfg.Sandbox.ToolchainImages["go"], "golang:1.26-bookworm"},
		{"sandbox.toolchain_images.java", cfg.Sandbox.ToolchainImages["java"], "maven:3-eclipse-temurin-21"},
		{"sandbox.default_toolchain_image", cfg.Sandbox.DefaultToolchainImage, "buildpack-deps:bookworm-scm"},
		{"sandbox.resources", cfg.Sandbox.Resources, config.Resources{"100m", "256Mi", "1", "1Gi", "1Gi", "10Gi"}},
		{"sandbox.run_as_root", cfg.Sandbox.RunAsRoot, false},
		{"sandbox.run_as_user", cfg.Sandbox.RunAsUser, int64(1000)},
		{"sandbox ready timeout", cfg.Sandbox.ReadyTimeout(), 120 * time.Second},
		{"sandbox step timeout", cfg.Sandbox.StepTimeout(), 600 * time.Second},
		{"sandbox idle timeout", cfg.Sandbox.IdleTimeout(), 900 * time.Second},
		{"orchestrator.runs_dir", cfg.Orchestrator.RunsDir, "/var/lib/agent-smith/runs"},
		{"agent api_key_secret", a.APIKeySecret, "anthropic_api_key"},
		{"agent context_window: the type decides", a.ContextWindow, 0},
		{"agent max_output_tokens: the type decides", a.MaxOutputTokens, 0},
		{"agent request timeout", a.RequestTimeout(), 300 * time.Second},
		{"agent retry", a.Retry, config.Retry{MaxRetries: 5, InitialDelayMS: 2000, BackoffMultiplier: 2, MaxDelayMS: 60000}},
		{"agent compaction", a.Compaction, config.Compaction{Enabled: true, TriggerRatio: 0.7, KeepRecentTurns: 6}},
		{"agent planning slot", a.Models.Planning, config.ModelSlot{Model: "claude-sonnet-4"}},
		{"tracker url", tr.URL, "https://api.github.com"},
		{"tracker open_states", tr.OpenStates, []string{"open"}},
		{"tracker trigger_labels", tr.TriggerLabels, []string{"agent-smith"}},
		{"tracker polling", tr.Polling, config.Polling{Enabled: false, IntervalSeconds: 60, JitterPercent: 10, TimeoutSeconds: 20}},
		{"tracker zero_match_comment", tr.ZeroMatchComment, false},
		{"repo api_url", cfg.Repos["api"].APIURL, "https://api.github.com"},
		{"project default_pipeline", p.DefaultPipeline, "fix-bug"},
		{"project coding_principles_path", p.CodingPrinciplesPath, ".agentsmith/coding-principles.md"},
		{"project draft_pull_requests", p.DraftPullRequests, false},
		// The project's one repository is the tracker's: its issues are
		// the project's.
		{"project trigger", *p.Trigger(), config.Trigger{
			ProjectResolution: config.ProjectResolution{Strategy: "repo", Value: "api"},
			CommentKeyword:    "/agent-smith",
			DefaultPipeline:   "fix-bug",
			CancelWhen:        config.CancelWhen{Closed: true, Unlabeled: true},
		}},
		{"skills", cfg.Skills, config.Skills{Source: "default", Version: "v3.0.1", CacheDir: "/var/lib/agentsmith/skills"}},
		{"queue", cfg.Queue, config.Queue{MaxParallelJobs: 4, ShutdownGraceSeconds: 30, MaxAttempts: 3, HeartbeatSeconds: 10, RetentionHours: 168, RedisPrefix: "agentsmith:", AwaitingInputExpiryHours: 336}},
		{"queue heartbeat TTL", cfg.Queue.HeartbeatTTL(), 30 * time.Second},
		{"limits", cfg.Limits, config.Limits{
			MaxToolCallsPerLoop: 60, MaxLLMCallsPerLoop: 40, MaxInputTokensPerCall: 200000,
			MaxOutputTokensPerCall: 16000, MaxSecondsPerLoop: 1200, MaxCostUSDPerRun: 5,
			MaxTokensPerRun: 2000000, MaxConcurrentLLMCalls: 10, CommandTimeoutSeconds: 60,
			MaxCommandTimeoutSeconds: 600, CommandOutputBytes: 1048576, MaxRunsPerTicketPerDay: 5,
		}},
	}
	for _, tc := range cases {
		if !equal(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

func equal(a, b any) bool { return reflect.DeepEqual(a, b) }

func TestPerTypeDefaults(t *testing.T) {
	cfg := mustParse(t, catalog(`  local:
    type: ollama
    model: qwen3-coder
  azure:
    type: azure_openai
    model: gpt-4.1
    endpoint: https://oai.example.com
    deployment: prod-gpt41
    api_key_secret: anthropic_api_key
    models:
      planning:
        deployment: o4-mini
      summarization:
        model: gpt-4.1-mini
  deployed:
    type: azure_openai
    endpoint: https://oai.example.com
    deployment: gpt-4.1-mini
    api_key_secret: anthropic_api_key
`, "", `  boards:
    type: azure_devops
    organization: acme-org
    project: Platform
    auth: github_token
  jira:
    type: jira
    url: https://acme.atlassian.net
    project: TODO
    auth: github_token
`)+webProject)
	azure := cfg.Agents["azure"]
	cases := []struct {
		name      string
		got, want any
	}{
		{"ollama endpoint", cfg.Agents["local"].Endpoint, "http://localhost:11434"},
		{"ollama api key", cfg.Agents["local"].APIKeySecret, ""},
		{"azure api_version", azure.Settings.(*providers.AzureSettings).APIVersion, "v1"},
		{"azure empty slot takes the agent's deployment", azure.Models.Execution, config.ModelSlot{Model: "gpt-4.1", Deployment: "prod-gpt41"}},
		{"azure slot with its own model", azure.Models.Summarization, config.ModelSlot{Model: "gpt-4.1-mini", Deployment: "gpt-4.1-mini"}},
		{"azure slot with its own deployment serves the model named like it", azure.Models.Planning, config.ModelSlot{Model: "o4-mini", Deployment: "o4-mini"}},
		{"azure model from the deployment", cfg.Agents["deployed"].Model, "gpt-4.1-mini"},
		{"azure slot of an agent without a model", cfg.Agents["deployed"].Models.Review, config.ModelSlot{Model: "gpt-4.1-mini", Deployment: "gpt-4.1-mini"}},
		{"azure devops url", cfg.Trackers["boards"].URL, "https://dev.azure.com/acme-org"},
		{"azure devops open_states", cfg.Trackers["boards"].OpenStates, []string{"New", "Active"}},
		{"jira open_states", cfg.Trackers["jira"].OpenStates, []string{"To Do", "Open"}},
		{"jira agent_user", cfg.Trackers["jira"].Settings.(*jira.Settings).AgentUser, "Agent Smith"},
	}
	for _, tc := range cases {
		if !equal(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

// An explicit zero, false or empty string is a choice, not a gap.
func TestExplicitZeroValuesAreKept(t *testing.T) {
	cfg := mustParse(t, catalog(`    api_key_secret: ""
    retry:
      max_retries: 0
    compaction:
      enabled: false
`, "", "")+webProject+`    sandbox:
      run_as_root: true
sandbox:
  run_as_user: 0
  run_as_root: true
  toolchain_images:
    go: golang:1.25-bookworm
`)
	a := cfg.Agents["claude"]
	if a.APIKeySecret != "" || a.Retry.MaxRetries != 0 || a.Compaction.Enabled {
		t.Errorf("agent = %+v", a)
	}
	if cfg.Sandbox.RunAsUser != 0 || !cfg.Sandbox.RunAsRoot {
		t.Errorf("sandbox run_as = %d/%v", cfg.Sandbox.RunAsUser, cfg.Sandbox.RunAsRoot)
	}
	imgs := cfg.Sandbox.ToolchainImages
	if imgs["go"] != "golang:1.25-bookworm" || imgs["node"] != "node:20-bookworm-slim" {
		t.Errorf("toolchain images merge per language: %v", imgs)
	}
}

func TestProjectSandboxOverrideMergesFieldByField(t *testing.T) {
	cfg := mustParse(t, baseDoc+webProject+`    sandbox:
      toolchain_image: ghcr.io/acme/build:1
      agent_version: 0.61.0
      resources:
        cpu_limit: "2"
sandbox:
  agent_version: 0.60.1
  resources:
    memory_limit: 2Gi
`)
	s := cfg.SandboxFor("web")
	if want := (config.Resources{"100m", "256Mi", "2", "2Gi", "1Gi", "10Gi"}); s.Resources != want {
		t.Errorf("resources = %+v, want %+v", s.Resources, want)
	}
	if got := s.ResolveAgentImage("ghcr.io/agent-smith/agent-smith:9.9.9"); got != "ghcr.io/agent-smith/agent-smith:0.61.0" {
		t.Errorf("project agent image = %q", got)
	}
	global := cfg.SandboxFor("no-such-project")
	if got := global.ResolveAgentImage("ghcr.io/agent-smith/agent-smith:9.9.9"); got != "ghcr.io/agent-smith/agent-smith:0.60.1" {
		t.Errorf("global agent image = %q", got)
	}
	if global.Resources.CPULimit != "1" {
		t.Errorf("global cpu_limit changed to %q", global.Resources.CPULimit)
	}
}

// The seed's orchestrator block names the image the orchestrator runs
// from; sandboxes inject from the same image unless their block says
// otherwise.
func TestOrchestratorImageIsTheSandboxAgentImagesDefault(t *testing.T) {
	cfg := mustParse(t, baseDoc+webProject+`orchestrator:
  registry: registry.acme:5000/mirror
  version: v0.3.0
`)
	web := cfg.SandboxFor("web")
	if got := web.ResolveAgentImage("ghcr.io/agent-smith/agent-smith:v0.2.0"); got != "registry.acme:5000/mirror/agent-smith:v0.3.0" {
		t.Errorf("project agent image = %q", got)
	}
	cfg = mustParse(t, baseDoc+webProject+`orchestrator:
  registry: registry.acme/mirror
sandbox:
  agent_registry: registry.acme/agents
`)
	web = cfg.SandboxFor("web")
	if got := web.ResolveAgentImage("ghcr.io/agent-smith/agent-smith:v0.2.0"); got != "registry.acme/agents/agent-smith:v0.2.0" {
		t.Errorf("sandbox.agent_registry over orchestrator.registry: %q", got)
	}
}

func TestSandboxIsolationKeys(t *testing.T) {
	cfg := mustParse(t, baseDoc+webProject)
	if cfg.Projects["web"].AllowCIConfigChanges || cfg.Sandbox.RuntimeClassName != "" {
		t.Errorf("defaults: allow_ci_config_changes %v, runtime_class_name %q", cfg.Projects["web"].AllowCIConfigChanges, cfg.Sandbox.RuntimeClassName)
	}
	cfg = mustParse(t, baseDoc+webProject+`    allow_ci_config_changes: true
    sandbox:
      resources: {ephemeral_storage_limit: 20Gi}
sandbox:
  runtime_class_name: gvisor
`)
	s := cfg.SandboxFor("web")
	if !cfg.Projects["web"].AllowCIConfigChanges || s.RuntimeClassName != "gvisor" {
		t.Errorf("allow_ci_config_changes %v, runtime_class_name %q", cfg.Projects["web"].AllowCIConfigChanges, s.RuntimeClassName)
	}
	if s.Resources.EphemeralStorageRequest != "1Gi" || s.Resources.EphemeralStorageLimit != "20Gi" {
		t.Errorf("ephemeral storage %q/%q", s.Resources.EphemeralStorageRequest, s.Resources.EphemeralStorageLimit)
	}
}

func TestVariablesExpandInEveryStringBeforeConversion(t *testing.T) {
	cfg, err := config.Parse([]byte(catalog("", `  docs:
    type: git
    url: ${DOCS_REMOTE}
    test_command: make test PRICE=$$5 && echo $HOME "${WHO}"
`, "")+webProject+`queue:
  max_parallel_jobs: ${WORKERS}
  redis_prefix: ${PREFIX:-agentsmith:}
`), "agentsmith.yml", envWith(map[string]string{"WORKERS": "12", "DOCS_REMOTE": "/srv/git/docs.git", "WHO": "ci"}), kinds())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if cfg.Queue.MaxParallelJobs != 12 {
		t.Errorf("max_parallel_jobs = %d, want 12", cfg.Queue.MaxParallelJobs)
	}
	if cfg.Queue.RedisPrefix != "agentsmith:" {
		t.Errorf("redis_prefix = %q, want the ${PREFIX:-...} fallback", cfg.Queue.RedisPrefix)
	}
	docs := cfg.Repos["docs"]
	if docs.URL != "/srv/git/docs.git" {
		t.Errorf("url = %q", docs.URL)
	}
	if want := `make test PRICE=$5 && echo $HOME "ci"`; docs.TestCommand != want {
		t.Errorf("test_command = %q, want %q", docs.TestCommand, want)
	}
}

func TestSecretEnvNamesVariablesOfWholeReferences(t *testing.T) {
	cfg := mustParse(t, strings.Replace(baseDoc, "secrets:\n", `secrets:
  prefixed: tok-${GITHUB_TOKEN}
  literal: not-from-env
  fallback: ${ANTHROPIC_API_KEY:-none}
`, 1)+webProject)
	want := map[string]string{"github_token": "GITHUB_TOKEN", "anthropic_api_key": "ANTHROPIC_API_KEY"}
	if !maps.Equal(cfg.SecretEnv, want) {
		t.Errorf("SecretEnv = %v, want %v", cfg.SecretEnv, want)
	}
	if v, _ := cfg.Secret("prefixed"); v != "tok-"+testSecrets["GITHUB_TOKEN"] {
		t.Errorf("prefixed secret = %q", v)
	}
}

func TestAnchorsAndMergeKeysShareBlocks(t *testing.T) {
	cfg := mustParse(t, catalog("", `  worker: &ado
    type: github
    url: https://github.com/acme/worker
    auth: github_token
    language: go
  tools:
    <<: *ado
    url: https://github.com/acme/tools
`, "")+`projects:
  web:
    agent: claude
    tracker: issues
    repos: &all [api, worker, tools]
  web2:
    agent: claude
    tracker: issues
    repos: *all
`)
	tools := cfg.Repos["tools"]
	if tools.URL != "https://github.com/acme/tools" || tools.Language != "go" || tools.Auth != "github_token" {
		t.Errorf("merged repo = %+v", tools)
	}
	if !slices.Equal(cfg.Projects["web2"].Repos, []string{"api", "worker", "tools"}) {
		t.Errorf("aliased repos = %v", cfg.Projects["web2"].Repos)
	}
}

func TestPipelinesArePresetsOnly(t *testing.T) {
	got := config.Pipelines()
	if !slices.Equal(got, []string{"fix-bug", "add-feature", "fix-no-test", "init-project"}) {
		t.Fatalf("Pipelines() = %v", got)
	}
	got[0] = "changed"
	if !config.IsPipeline("fix-bug") || config.IsPipeline("changed") || config.IsPipeline("security-scan") {
		t.Error("Pipelines() must return a copy and IsPipeline only accept presets")
	}
}

func TestCommitAuthorSignoffAndArtifacts(t *testing.T) {
	c := mustParse(t, baseDoc+webProject).Projects["web"].Commit
	want := config.Commit{AuthorName: "Agent Smith", AuthorEmail: "agent-smith@users.noreply.local"}
	if c != want {
		t.Errorf("defaults: %+v, want %+v", c, want)
	}
	c = mustParse(t, baseDoc+webProject+`    commit: {author_name: Release Bot, signoff: true, artifacts: true}
`).Projects["web"].Commit
	want = config.Commit{AuthorName: "Release Bot", AuthorEmail: "agent-smith@users.noreply.local", Signoff: true, Artifacts: true}
	if c != want {
		t.Errorf("set: %+v, want %+v", c, want)
	}
}

func TestCommitAuthorThatWouldBreakTheHeaderIsRefused(t *testing.T) {
	tests := []struct{ commit, path, msg string }{
		{`{author_email: "Bot <bot@acme.example>"}`, "projects.web.commit.author_email", "is not an address like"},
		{`{author_email: not-an-address}`, "projects.web.commit.author_email", "is not an address like"},
		{`{author_name: "Bot <x>"}`, "projects.web.commit.author_name", "may not contain <, > or a line break"},
	}
	for _, tt := range tests {
		errs := parseErrors(t, baseDoc+webProject+"    commit: "+tt.commit+"\n", envWith(map[string]string{"GITHUB_TOKEN": "-"}))
		found := false
		for _, e := range errs {
			found = found || (e.Path == tt.path && strings.Contains(e.Message, tt.msg) && e.Line > 0)
		}
		if !found {
			t.Errorf("commit %s: errors %v, want %s: %s with its line", tt.commit, errs, tt.path, tt.msg)
		}
	}
}

// cancel_when is on by default (TestDefaultsFillKeysTheFileLeavesOut);
// a false the file writes is kept, and the other key keeps its default.
func TestCancelWhenKeepsWhatTheFileSays(t *testing.T) {
	cfg := mustParse(t, baseDoc+webProject+"    trigger:\n      cancel_when: {closed: false}\n")
	if got := cfg.Projects["web"].Trigger().CancelWhen; got != (config.CancelWhen{Closed: false, Unlabeled: true}) {
		t.Errorf("cancel_when = %+v, want closed false, unlabeled true", got)
	}
}
