package config

import (
	"maps"
	"net/url"
	"strings"
)

// This file is the one place defaults are applied. A default fills a key
// only when the file gives it no value: an explicit 0, false or "" is kept,
// so `max_retries: 0` means no retries and `api_key_secret: ""` means the
// agent sends no key.

// Defaults used in more than one place.
const (
	defaultSecretName     = "agent-smith-secrets"
	defaultCommentKeyword = "/agent-smith"
)

var defaultToolchainImages = map[string]string{
	"dotnet": "mcr.microsoft.com/dotnet/sdk:8.0",
	"node":   "node:20-bookworm-slim",
	"python": "python:3.12-slim",
	"go":     "golang:1.26-bookworm",
	"rust":   "rust:1.79-bookworm",
	"java":   "maven:3-eclipse-temurin-21",
}

// defaulter sets a field to its default unless its key has a value.
type defaulter struct{ set map[string]bool }

func setDefault[T any](d defaulter, path string, field *T, value T) {
	if !d.set[path] {
		*field = value
	}
}

func applyDefaults(c *Config, v *validator) {
	d := defaulter{v.l.set}
	sandboxDefaults(d, &c.Sandbox, c.Orchestrator)
	setDefault(d, "orchestrator.runs_dir", &c.Orchestrator.RunsDir, "/var/lib/agent-smith/runs")
	for name, a := range c.Agents {
		agentDefaults(v, child("agents", name), a)
	}
	for name, r := range c.Repos {
		setDefault(d, child(child("repos", name), "api_url"), &r.APIURL, deriveAPIURL(r.Type, r.URL))
	}
	// Trackers before projects: triggers inherit from their tracker.
	for name, t := range c.Trackers {
		trackerDefaults(v, child("trackers", name), t)
	}
	for name, p := range c.Projects {
		projectDefaults(v, c, name, p)
	}
	setDefault(d, "skills.source", &c.Skills.Source, SkillsDefault)
	setDefault(d, "skills.cache_dir", &c.Skills.CacheDir, "/var/lib/agentsmith/skills")
	queueDefaults(d, &c.Queue)
	limitsDefaults(d, &c.Limits)
}

func sandboxDefaults(d defaulter, s *Sandbox, o Orchestrator) {
	// Sandboxes inject the agent from the orchestrator's image: a mirror
	// named in the orchestrator block serves them too.
	setDefault(d, "sandbox.agent_registry", &s.AgentRegistry, o.Registry)
	setDefault(d, "sandbox.agent_version", &s.AgentVersion, o.Version)
	setDefault(d, "sandbox.secret_name", &s.SecretName, defaultSecretName)
	if s.ToolchainImages == nil {
		s.ToolchainImages = map[string]string{}
	}
	for lang, image := range defaultToolchainImages {
		if _, ok := s.ToolchainImages[lang]; !ok {
			s.ToolchainImages[lang] = image
		}
	}
	setDefault(d, "sandbox.default_toolchain_image", &s.DefaultToolchainImage, "buildpack-deps:bookworm-scm")
	setDefault(d, "sandbox.resources.cpu_request", &s.Resources.CPURequest, "100m")
	setDefault(d, "sandbox.resources.memory_request", &s.Resources.MemoryRequest, "256Mi")
	setDefault(d, "sandbox.resources.cpu_limit", &s.Resources.CPULimit, "1")
	setDefault(d, "sandbox.resources.memory_limit", &s.Resources.MemoryLimit, "1Gi")
	setDefault(d, "sandbox.resources.ephemeral_storage_request", &s.Resources.EphemeralStorageRequest, "1Gi")
	setDefault(d, "sandbox.resources.ephemeral_storage_limit", &s.Resources.EphemeralStorageLimit, "10Gi")
	setDefault(d, "sandbox.run_as_user", &s.RunAsUser, 1000)
	setDefault(d, "sandbox.ready_timeout_seconds", &s.ReadyTimeoutSeconds, 120)
	setDefault(d, "sandbox.step_timeout_seconds", &s.StepTimeoutSeconds, 600)
	setDefault(d, "sandbox.idle_timeout_seconds", &s.IdleTimeoutSeconds, 900)
}

// agentDefaults fills an agent's block: first what its type says, then
// the common keys.
func agentDefaults(v *validator, path string, a *Agent) {
	if a.Settings != nil {
		a.Settings.Default(Block{v, path}, a)
	}
	d := defaulter{v.l.set}
	at := func(keys string) string { return keyPath(path, keys) }
	setDefault(d, at("api_key_secret"), &a.APIKeySecret, v.l.schema.Providers[string(a.Type)].APIKeySecret)
	setDefault(d, at("request_timeout_seconds"), &a.RequestTimeoutSeconds, 300)
	setDefault(d, at("retry.max_retries"), &a.Retry.MaxRetries, 5)
	setDefault(d, at("retry.initial_delay_ms"), &a.Retry.InitialDelayMS, 2000)
	setDefault(d, at("retry.backoff_multiplier"), &a.Retry.BackoffMultiplier, 2.0)
	setDefault(d, at("retry.max_delay_ms"), &a.Retry.MaxDelayMS, 60000)
	setDefault(d, at("compaction.enabled"), &a.Compaction.Enabled, true)
	setDefault(d, at("compaction.trigger_ratio"), &a.Compaction.TriggerRatio, 0.7)
	setDefault(d, at("compaction.keep_recent_turns"), &a.Compaction.KeepRecentTurns, 6)
	for _, slot := range a.Models.All() {
		if slot.Model == "" {
			slot.Model = a.Model
		}
		if slot.MaxOutputTokens == 0 {
			slot.MaxOutputTokens = a.MaxOutputTokens
		}
		if slot.ReasoningEffort == "" {
			slot.ReasoningEffort = a.ReasoningEffort
		}
	}
}

// trackerDefaults fills a tracker's block: first what its type says (url,
// open_states, its own keys), then the common keys.
func trackerDefaults(v *validator, path string, t *Tracker) {
	if t.Settings != nil {
		t.Settings.Default(Block{v, path}, t)
	}
	d := defaulter{v.l.set}
	at := func(keys string) string { return keyPath(path, keys) }
	setDefault(d, at("trigger_labels"), &t.TriggerLabels, []string{"agent-smith"})
	// A poll ends before the next begins. Of interval and timeout, the one
	// the file leaves out follows the one it gives, so only two values
	// written in the file can contradict each other.
	setDefault(d, at("polling.interval_seconds"), &t.Polling.IntervalSeconds, max(60, t.Polling.TimeoutSeconds))
	setDefault(d, at("polling.jitter_percent"), &t.Polling.JitterPercent, 10)
	setDefault(d, at("polling.timeout_seconds"), &t.Polling.TimeoutSeconds, min(20, max(t.Polling.IntervalSeconds, 1)))
}

// projectDefaults resolves a project against the global blocks: the sandbox
// override is merged field by field over the global sandbox, and the
// trigger block is filled in (or created when the file has none: tickets
// then match by repository when the project's one repository is the
// tracker's, else by the tag named like the project).
func projectDefaults(v *validator, c *Config, name string, p *Project) {
	d := defaulter{v.l.set}
	path := child("projects", name)
	at := func(keys string) string { return keyPath(path, keys) }
	setDefault(d, at("default_pipeline"), &p.DefaultPipeline, PipelineFixBug)
	setDefault(d, at("coding_principles_path"), &p.CodingPrinciplesPath, ".agentsmith/coding-principles.md")
	setDefault(d, at("commit.author_name"), &p.Commit.AuthorName, "Agent Smith")
	setDefault(d, at("commit.author_email"), &p.Commit.AuthorEmail, "agent-smith@users.noreply.local")

	g, o := &c.Sandbox, &p.Sandbox
	setDefault(d, at("sandbox.resources.cpu_request"), &o.Resources.CPURequest, g.Resources.CPURequest)
	setDefault(d, at("sandbox.resources.memory_request"), &o.Resources.MemoryRequest, g.Resources.MemoryRequest)
	setDefault(d, at("sandbox.resources.cpu_limit"), &o.Resources.CPULimit, g.Resources.CPULimit)
	setDefault(d, at("sandbox.resources.memory_limit"), &o.Resources.MemoryLimit, g.Resources.MemoryLimit)
	setDefault(d, at("sandbox.resources.ephemeral_storage_request"), &o.Resources.EphemeralStorageRequest, g.Resources.EphemeralStorageRequest)
	setDefault(d, at("sandbox.resources.ephemeral_storage_limit"), &o.Resources.EphemeralStorageLimit, g.Resources.EphemeralStorageLimit)
	setDefault(d, at("sandbox.agent_registry"), &o.AgentRegistry, g.AgentRegistry)
	setDefault(d, at("sandbox.agent_version"), &o.AgentVersion, g.AgentVersion)
	if o.RunAsRoot == nil || !d.set[at("sandbox.run_as_root")] {
		o.RunAsRoot = new(g.RunAsRoot)
	}

	kind, known := v.l.projectKind(c, path, p)
	if p.TriggerBlock == nil && known {
		p.TriggerBlock = &Trigger{Settings: newTrackerSettings(kind.TriggerSettings)}
	}
	if t := p.TriggerBlock; t != nil {
		tp := v.l.triggerPath(path)
		triggerDefaults(v, tp, t, p, c.Trackers[p.Tracker])
		// A value written without a strategy names a tag.
		strategy := ResolveByTag
		if !d.set[keyPath(tp, "project_resolution.value")] {
			strategy = defaultStrategy(c, p, kind, c.Trackers[p.Tracker])
		}
		setDefault(d, keyPath(tp, "project_resolution.strategy"), &t.ProjectResolution.Strategy, strategy)
		resolutionDefaults(d, tp, t, name, p)
	}
}

// defaultStrategy is how a project whose file says nothing about it
// matches tickets: by repository when its tracker's tickets live in the
// one repository the project names (a GitHub or GitLab project of one
// repository, the common case), else by the label named like the project.
func defaultStrategy(c *Config, p *Project, kind TrackerKind, tracker *Tracker) string {
	// Only the tracker's one project takes every ticket of the repository:
	// projects that share a tracker are told apart by their labels.
	shared := 0
	for _, other := range c.Projects {
		if other.Tracker == p.Tracker {
			shared++
		}
	}
	if kind.RepoTickets && tracker != nil && len(p.Repos) == 1 && shared == 1 {
		if r := c.Repos[p.Repos[0]]; r != nil && trackersRepo(r.URL, tracker.Project) {
			return ResolveByRepo
		}
	}
	return ResolveByTag
}

func resolutionDefaults(d defaulter, path string, t *Trigger, project string, p *Project) {
	at := func(keys string) string { return keyPath(path, keys) }
	switch t.ProjectResolution.Strategy {
	case ResolveByTag:
		setDefault(d, at("project_resolution.value"), &t.ProjectResolution.Value, project)
	case ResolveByRepo:
		if len(p.Repos) == 1 {
			setDefault(d, at("project_resolution.value"), &t.ProjectResolution.Value, p.Repos[0])
		}
	}
}

func triggerDefaults(v *validator, path string, t *Trigger, p *Project, tracker *Tracker) {
	if t.Settings != nil {
		t.Settings.Default(Block{v, path}, tracker)
	}
	d := defaulter{v.l.set}
	at := func(keys string) string { return keyPath(path, keys) }
	setDefault(d, at("comment_keyword"), &t.CommentKeyword, defaultCommentKeyword)
	setDefault(d, at("cancel_when.closed"), &t.CancelWhen.Closed, true)
	setDefault(d, at("cancel_when.unlabeled"), &t.CancelWhen.Unlabeled, true)
	setDefault(d, at("default_pipeline"), &t.DefaultPipeline, p.DefaultPipeline)
	setDefault(d, at("pipeline_from_label"), &t.PipelineFromLabel, maps.Clone(p.PipelineFromLabel))
	if tracker != nil {
		setDefault(d, at("done_status"), &t.DoneStatus, tracker.DoneStatus)
	}
}

func queueDefaults(d defaulter, q *Queue) {
	setDefault(d, "queue.max_parallel_jobs", &q.MaxParallelJobs, 4)
	setDefault(d, "queue.shutdown_grace_seconds", &q.ShutdownGraceSeconds, 30)
	setDefault(d, "queue.max_attempts", &q.MaxAttempts, 3)
	setDefault(d, "queue.heartbeat_seconds", &q.HeartbeatSeconds, 10)
	setDefault(d, "queue.retention_hours", &q.RetentionHours, 168)
	setDefault(d, "queue.redis_prefix", &q.RedisPrefix, "agentsmith:")
	setDefault(d, "queue.awaiting_input_expiry_hours", &q.AwaitingInputExpiryHours, 336)
}

func limitsDefaults(d defaulter, l *Limits) {
	setDefault(d, "limits.max_tool_calls_per_loop", &l.MaxToolCallsPerLoop, 60)
	setDefault(d, "limits.max_llm_calls_per_loop", &l.MaxLLMCallsPerLoop, 40)
	setDefault(d, "limits.max_input_tokens_per_call", &l.MaxInputTokensPerCall, 200000)
	setDefault(d, "limits.max_output_tokens_per_call", &l.MaxOutputTokensPerCall, 16000)
	setDefault(d, "limits.max_seconds_per_loop", &l.MaxSecondsPerLoop, 1200)
	setDefault(d, "limits.max_cost_usd_per_run", &l.MaxCostUSDPerRun, 5.0)
	setDefault(d, "limits.max_tokens_per_run", &l.MaxTokensPerRun, 2000000)
	setDefault(d, "limits.max_concurrent_llm_calls", &l.MaxConcurrentLLMCalls, 10)
	setDefault(d, "limits.command_timeout_seconds", &l.CommandTimeoutSeconds, 60)
	setDefault(d, "limits.max_command_timeout_seconds", &l.MaxCommandTimeoutSeconds, 600)
	setDefault(d, "limits.command_output_bytes", &l.CommandOutputBytes, 1048576)
	setDefault(d, "limits.max_runs_per_ticket_per_day", &l.MaxRunsPerTicketPerDay, 5)
}

// deriveAPIURL is the API base of a repository host, derived from its clone
// URL; "" when it cannot be derived (then the URL's validation reports it).
func deriveAPIURL(t RepoType, cloneURL string) string {
	u, err := url.Parse(cloneURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	base := u.Scheme + "://" + u.Host
	switch t {
	case RepoGitHub:
		if u.Host == "github.com" {
			return "https://api.github.com"
		}
		return base + "/api/v3"
	case RepoGitLab:
		return base
	case RepoAzureDevOps:
		// dev.azure.com/{org}/{project}/_git/{repo} and Azure DevOps
		// Server's {host}/{collection}/... put the organization (or
		// collection) first; {org}.visualstudio.com is the organization.
		if strings.HasSuffix(u.Host, ".visualstudio.com") {
			return base
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
		if first == "" {
			return base
		}
		return base + "/" + first
	}
	return ""
}
