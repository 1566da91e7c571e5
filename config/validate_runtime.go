package config

import (
	"encoding/hex"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

func (v *validator) sandbox() {
	s := &v.c.Sandbox
	v.image("sandbox.agent_image", s.AgentImage)
	v.registry("sandbox.agent_registry", s.AgentRegistry)
	v.tag("sandbox.agent_version", s.AgentVersion)
	if errs := validation.IsDNS1123Subdomain(s.SecretName); len(errs) > 0 {
		v.fail("sandbox.secret_name", "%s is not a valid Secret name: %s", v.quote("sandbox.secret_name", s.SecretName), errs[0])
	}
	for _, lang := range slices.Sorted(maps.Keys(s.ToolchainImages)) {
		p := child("sandbox.toolchain_images", lang)
		if v.required(p, s.ToolchainImages[lang]) {
			v.image(p, s.ToolchainImages[lang])
		}
	}
	if v.required("sandbox.default_toolchain_image", s.DefaultToolchainImage) {
		v.image("sandbox.default_toolchain_image", s.DefaultToolchainImage)
	}
	v.resources("sandbox.resources", s.Resources, func(string) bool { return true })
	switch {
	case s.RunAsUser < 0:
		v.fail("sandbox.run_as_user", "must not be negative")
	case s.RunAsUser == 0 && !s.RunAsRoot:
		v.fail("sandbox.run_as_user", "uid 0 is root; set run_as_root: true to run sandboxes as root")
	case s.RunAsUser == GateUID:
		v.fail("sandbox.run_as_user", "uid %d is the git gate's, which holds the git credential; pick another uid", GateUID)
	}
	if s.RuntimeClassName != "" {
		if errs := validation.IsDNS1123Subdomain(s.RuntimeClassName); len(errs) > 0 {
			v.fail("sandbox.runtime_class_name", "%s is not a valid RuntimeClass name: %s", v.quote("sandbox.runtime_class_name", s.RuntimeClassName), errs[0])
		}
	}
	v.positive("sandbox.ready_timeout_seconds", s.ReadyTimeoutSeconds)
	v.positive("sandbox.step_timeout_seconds", s.StepTimeoutSeconds)
	v.positive("sandbox.idle_timeout_seconds", s.IdleTimeoutSeconds)
	if n := s.KeepFailedPodsMinutes; n < 0 || n > MaxKeepFailedPodsMinutes {
		v.fail("sandbox.keep_failed_pods_minutes", "must be between 0 (do not keep) and %d (a day), got %d", MaxKeepFailedPodsMinutes, n)
	}
}

// MaxKeepFailedPodsMinutes bounds sandbox.keep_failed_pods_minutes: a kept
// pod is for a look the same day, not an archive. It holds its node's disk
// (the workspace's emptyDirs) and a pod slot, and its logs and Events are
// what is worth keeping longer; the run's WIP branch keeps its work.
const MaxKeepFailedPodsMinutes = 1440

// image checks the shape of an optional container image reference; the
// registry decides whether it exists.
func (v *validator) image(p, ref string) {
	if ref != "" && strings.ContainsAny(ref, " \t\r\n") {
		v.fail(p, "%s is not an image reference", v.quote(p, ref))
	}
}

// tagPattern is the OCI distribution spec's tag grammar.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// tag checks an optional image tag (agent_version, orchestrator.version).
func (v *validator) tag(p, tag string) {
	if tag != "" && !tagPattern.MatchString(tag) {
		v.fail(p, "%s is not an image tag: letters, digits, _ . - (at most 128, not starting with . or -)", v.quote(p, tag))
	}
}

// registry checks an optional registry and namespace an image name is
// put under ({registry}/agent-smith): no tag, digest, scheme or spaces.
func (v *validator) registry(p, reg string) {
	if reg != "" && (strings.ContainsAny(reg, " \t\r\n@") || strings.Contains(reg, "://") ||
		strings.HasSuffix(reg, "/") || strings.HasPrefix(reg, "/")) {
		v.fail(p, "%s is not a registry such as ghcr.io/acme (the image is {registry}/agent-smith)", v.quote(p, reg))
	}
}

func (v *validator) orchestrator() {
	v.registry("orchestrator.registry", v.c.Orchestrator.Registry)
	v.tag("orchestrator.version", v.c.Orchestrator.Version)
	if !path.IsAbs(v.c.Orchestrator.RunsDir) {
		v.fail("orchestrator.runs_dir", "want an absolute path")
	}
}

func (v *validator) skills() {
	s := &v.c.Skills
	if !v.oneOf("skills.source", s.Source, SkillsDefault, SkillsPath, SkillsURL) {
		return
	}
	switch s.Source {
	case SkillsDefault:
		v.required("skills.version", s.Version)
	case SkillsPath:
		v.required("skills.path", s.Path)
	case SkillsURL:
		if v.required("skills.url", s.URL) {
			v.httpURL("skills.url", s.URL)
		}
	}
	if s.Source != SkillsPath {
		v.onlyFor("skills.path", s.Path, "source: path")
	}
	if s.Source != SkillsURL {
		v.onlyFor("skills.url", s.URL, "source: url")
	}
	if s.SHA256 != "" {
		if b, err := hex.DecodeString(s.SHA256); err != nil || len(b) != 32 {
			v.fail("skills.sha256", "want 64 hexadecimal digits")
		}
	}
	if !path.IsAbs(s.CacheDir) {
		v.fail("skills.cache_dir", "want an absolute path")
	}
}

func (v *validator) queue() {
	q := &v.c.Queue
	v.positive("queue.max_parallel_jobs", q.MaxParallelJobs)
	v.positive("queue.shutdown_grace_seconds", q.ShutdownGraceSeconds)
	v.positive("queue.max_attempts", q.MaxAttempts)
	v.positive("queue.heartbeat_seconds", q.HeartbeatSeconds)
	v.positive("queue.retention_hours", q.RetentionHours)
	v.positive("queue.awaiting_input_expiry_hours", q.AwaitingInputExpiryHours)
	if strings.ContainsAny(q.RedisPrefix, " \t\r\n") {
		v.fail("queue.redis_prefix", "must not contain whitespace")
	}
}

func (v *validator) limits() {
	l := &v.c.Limits
	for p, n := range map[string]int{
		"limits.max_tool_calls_per_loop":     l.MaxToolCallsPerLoop,
		"limits.max_llm_calls_per_loop":      l.MaxLLMCallsPerLoop,
		"limits.max_input_tokens_per_call":   l.MaxInputTokensPerCall,
		"limits.max_output_tokens_per_call":  l.MaxOutputTokensPerCall,
		"limits.max_seconds_per_loop":        l.MaxSecondsPerLoop,
		"limits.max_tokens_per_run":          l.MaxTokensPerRun,
		"limits.max_concurrent_llm_calls":    l.MaxConcurrentLLMCalls,
		"limits.command_timeout_seconds":     l.CommandTimeoutSeconds,
		"limits.max_command_timeout_seconds": l.MaxCommandTimeoutSeconds,
		"limits.command_output_bytes":        l.CommandOutputBytes,
	} {
		v.positive(p, n)
	}
	if l.MaxRunsPerTicketPerDay < 0 {
		v.fail("limits.max_runs_per_ticket_per_day", "must be 0 (no cap) or more, got %d", l.MaxRunsPerTicketPerDay)
	}
	if l.MaxCostUSDPerRun <= 0 {
		v.fail("limits.max_cost_usd_per_run", "must be greater than 0")
	}
	if l.CommandTimeoutSeconds > l.MaxCommandTimeoutSeconds && l.MaxCommandTimeoutSeconds > 0 {
		v.fail("limits.command_timeout_seconds", "%d is more than max_command_timeout_seconds %d", l.CommandTimeoutSeconds, l.MaxCommandTimeoutSeconds)
	}
}
