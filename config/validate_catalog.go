package config

import (
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	agentTypes   = []string{string(AgentAzureOpenAI), string(AgentOpenAI), string(AgentAnthropic), string(AgentGemini), string(AgentOllama), string(AgentScripted)}
	repoTypes    = []string{string(RepoGitHub), string(RepoGitLab), string(RepoAzureDevOps), string(RepoGit)}
	trackerTypes = []string{string(TrackerGitHub), string(TrackerGitLab), string(TrackerAzureDevOps), string(TrackerJira)}
)

func (v *validator) agents() {
	for _, name := range slices.Sorted(maps.Keys(v.c.Agents)) {
		a, p := v.c.Agents[name], child("agents", name)
		at := func(keys string) string { return keyPath(p, keys) }
		v.name(p, name)
		if !v.oneOf(at("type"), string(a.Type), agentTypes...) {
			continue
		}
		azure := a.Type == AgentAzureOpenAI
		if a.Type == AgentScripted {
			v.required(at("script"), a.Script)
		} else {
			v.required(at("model"), a.Model)
			v.onlyFor(at("script"), a.Script, "scripted agents")
		}
		if azure || a.Type == AgentOllama {
			v.required(at("endpoint"), a.Endpoint)
		}
		if a.Endpoint != "" {
			v.httpURL(at("endpoint"), a.Endpoint)
		}
		if azure {
			v.required(at("deployment"), a.Deployment)
		} else {
			v.onlyFor(at("deployment"), a.Deployment, "azure_openai agents")
			v.onlyFor(at("api_version"), a.APIVersion, "azure_openai agents")
		}
		switch _, defined := v.c.Secrets[a.APIKeySecret]; {
		case a.APIKeySecret == "":
		case !defined && !v.l.set[at("api_key_secret")]:
			v.fail(at("api_key_secret"), "%s agents read their key from secrets.%s, which is not defined; add it or set api_key_secret",
				a.Type, a.APIKeySecret)
		default:
			v.secretRef(at("api_key_secret"), a.APIKeySecret)
		}
		v.positive(at("context_window"), a.ContextWindow)
		v.positive(at("max_output_tokens"), a.MaxOutputTokens)
		if a.MaxOutputTokens > a.ContextWindow && a.ContextWindow > 0 {
			v.fail(at("max_output_tokens"), "%d is more than context_window %d", a.MaxOutputTokens, a.ContextWindow)
		}
		v.positive(at("request_timeout_seconds"), a.RequestTimeoutSeconds)
		for _, slot := range []struct {
			key string
			s   ModelSlot
		}{{"planning", a.Models.Planning}, {"execution", a.Models.Execution}, {"review", a.Models.Review}, {"summarization", a.Models.Summarization}} {
			v.positive(at("models."+slot.key+".max_output_tokens"), slot.s.MaxOutputTokens)
			if !azure {
				v.onlyFor(at("models."+slot.key+".deployment"), slot.s.Deployment, "azure_openai agents")
			}
		}
		for _, model := range slices.Sorted(maps.Keys(a.Pricing)) {
			pr := a.Pricing[model]
			if pr.InputPerMillion < 0 || pr.OutputPerMillion < 0 || pr.CachedInputPerMillion < 0 {
				v.fail(child(at("pricing"), model), "prices must not be negative")
			}
		}
		r := a.Retry
		if r.MaxRetries < 0 {
			v.fail(at("retry.max_retries"), "must not be negative")
		}
		v.positive(at("retry.initial_delay_ms"), r.InitialDelayMS)
		if r.BackoffMultiplier < 1 {
			v.fail(at("retry.backoff_multiplier"), "must be at least 1")
		}
		if r.MaxDelayMS < r.InitialDelayMS {
			v.fail(at("retry.max_delay_ms"), "%d is less than initial_delay_ms %d", r.MaxDelayMS, r.InitialDelayMS)
		}
		if cr := a.Compaction.TriggerRatio; cr <= 0 || cr > 1 {
			v.fail(at("compaction.trigger_ratio"), "want a ratio in (0, 1]")
		}
		if a.Compaction.KeepRecentTurns < 0 {
			v.fail(at("compaction.keep_recent_turns"), "must not be negative")
		}
	}
}

// scpLike matches scp-style git remotes: user@host:path.
var scpLike = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/]`)

func (v *validator) repos() {
	for _, name := range slices.Sorted(maps.Keys(v.c.Repos)) {
		r, p := v.c.Repos[name], child("repos", name)
		at := func(keys string) string { return keyPath(p, keys) }
		v.name(p, name)
		if !v.oneOf(at("type"), string(r.Type), repoTypes...) {
			continue
		}
		hosted := r.Type != RepoGit
		if v.required(at("url"), r.URL) {
			if hosted {
				// Hosted repositories are cloned and pushed over HTTPS with
				// the token from auth; that is also where api_url comes from.
				v.httpURL(at("url"), r.URL)
			} else if !gitRemote(r.URL) {
				v.fail(at("url"), "want an http(s), ssh, git or file URL, user@host:path, or an absolute local path")
			}
		}
		if hosted {
			if v.required(at("auth"), r.Auth) {
				v.secretRef(at("auth"), r.Auth)
			}
			if v.required(at("api_url"), r.APIURL) {
				v.httpURL(at("api_url"), r.APIURL)
			}
		} else {
			if r.Auth != "" {
				v.secretRef(at("auth"), r.Auth)
			}
			v.onlyFor(at("api_url"), r.APIURL, "github, gitlab and azure_devops repos")
		}
		v.image(at("toolchain_image"), r.ToolchainImage)
		if r.Language != "" && r.ToolchainImage == "" {
			lang := strings.ToLower(r.Language)
			if alias, ok := languageAliases[lang]; ok {
				lang = alias
			}
			if _, ok := v.c.Sandbox.ToolchainImages[lang]; !ok {
				known := slices.Sorted(maps.Keys(v.c.Sandbox.ToolchainImages))
				v.fail(at("language"), "no image for %s in sandbox.toolchain_images (known: %s); add one or set toolchain_image",
					v.quote(at("language"), r.Language), strings.Join(known, ", "))
			}
		}
	}
}

func gitRemote(s string) bool {
	if filepath.IsAbs(s) || scpLike.MatchString(s) {
		return true
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "https", "http", "ssh", "git":
		return u.Host != ""
	case "file":
		return u.Path != ""
	}
	return false
}

var githubRepo = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

func (v *validator) trackers() {
	for _, name := range slices.Sorted(maps.Keys(v.c.Trackers)) {
		t, p := v.c.Trackers[name], child("trackers", name)
		at := func(keys string) string { return keyPath(p, keys) }
		v.name(p, name)
		if !v.oneOf(at("type"), string(t.Type), trackerTypes...) {
			continue
		}
		if v.required(at("project"), t.Project) && t.Type == TrackerGitHub && !githubRepo.MatchString(t.Project) {
			v.fail(at("project"), "want owner/repo, the repository whose issues are the tickets")
		}
		if t.Type == TrackerAzureDevOps {
			v.required(at("organization"), t.Organization)
		}
		if v.required(at("url"), t.URL) {
			v.httpURL(at("url"), t.URL)
		}
		v.trackerAuth(at, t)
		if v.l.set[at("webhook_secret")] && t.WebhookSecret == "" {
			v.fail(at("webhook_secret"), "is empty; remove the key to refuse webhooks")
		}
		if len(t.OpenStates) == 0 {
			v.fail(at("open_states"), "needs at least one state")
		}
		v.nonEmptyItems(at("open_states"), t.OpenStates)
		if len(t.TriggerLabels) == 0 && t.Type != TrackerJira {
			// Without a label gate every open ticket would become a run.
			v.fail(at("trigger_labels"), "needs at least one label")
		}
		v.nonEmptyItems(at("trigger_labels"), t.TriggerLabels)
		pl := t.Polling
		v.positive(at("polling.interval_seconds"), pl.IntervalSeconds)
		v.positive(at("polling.timeout_seconds"), pl.TimeoutSeconds)
		if pl.JitterPercent < 0 || pl.JitterPercent > 100 {
			v.fail(at("polling.jitter_percent"), "want 0 to 100, got %d", pl.JitterPercent)
		}
		if pl.TimeoutSeconds > pl.IntervalSeconds && pl.IntervalSeconds > 0 {
			v.fail(at("polling.timeout_seconds"), "%d is more than interval_seconds %d", pl.TimeoutSeconds, pl.IntervalSeconds)
		}
		if t.Type != TrackerJira {
			v.onlyFor(at("email"), t.Email, "jira trackers")
			v.onlyFor(at("close_transition_name"), t.CloseTransitionName, "jira trackers")
			v.onlyFor(at("agent_user"), t.AgentUser, "jira trackers")
		}
	}
}

func (v *validator) trackerAuth(at func(string) string, t *Tracker) {
	if t.App == nil {
		if v.required(at("auth"), t.Auth) {
			v.secretRef(at("auth"), t.Auth)
		}
		return
	}
	if t.Type != TrackerGitHub {
		v.fail(at("app"), "only applies to github trackers")
		return
	}
	if t.Auth != "" {
		v.fail(at("auth"), "set either auth or app, not both")
	}
	if t.App.AppID <= 0 {
		v.fail(at("app.app_id"), "is required")
	}
	if t.App.InstallationID <= 0 {
		v.fail(at("app.installation_id"), "is required")
	}
	if v.required(at("app.private_key_secret"), t.App.PrivateKeySecret) {
		v.secretRef(at("app.private_key_secret"), t.App.PrivateKeySecret)
	}
}

func (v *validator) nonEmptyItems(path string, items []string) {
	for i, s := range items {
		if strings.TrimSpace(s) == "" {
			v.fail(path+"["+strconv.Itoa(i)+"]", "must not be empty")
		}
	}
}

func (v *validator) pipelineTriggers() {
	for _, label := range slices.Sorted(maps.Keys(v.c.PipelineTriggers)) {
		v.pipeline(child("pipeline_triggers", label), v.c.PipelineTriggers[label])
	}
}
