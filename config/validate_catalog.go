package config

import (
	"cmp"
	"maps"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var repoTypes = []string{string(RepoGitHub), string(RepoGitLab), string(RepoAzureDevOps), string(RepoGit)}

func (v *validator) agents() {
	types := slices.Sorted(maps.Keys(v.l.schema.Providers))
	for _, name := range slices.Sorted(maps.Keys(v.c.Agents)) {
		a, p := v.c.Agents[name], child("agents", name)
		v.name(p, name)
		if !v.oneOf(keyPath(p, "type"), string(a.Type), types...) {
			continue
		}
		v.agent(p, a, v.l.schema.Providers[string(a.Type)])
		if a.Settings != nil {
			a.Settings.Validate(Block{v, p}, a)
		}
	}
}

// agent checks the keys every agent has.
func (v *validator) agent(p string, a *Agent, kind ProviderKind) {
	at := func(keys string) string { return keyPath(p, keys) }
	if !kind.ModelOptional {
		v.required(at("model"), a.Model)
	}
	if a.Endpoint != "" {
		v.httpURL(at("endpoint"), a.Endpoint)
	}
	switch _, defined := v.c.Secrets[a.APIKeySecret]; {
	case a.APIKeySecret == "":
	case !defined && !v.l.set[at("api_key_secret")]:
		v.fail(at("api_key_secret"), "%s agents read their key from secrets.%s, which is not defined; add it or set api_key_secret",
			a.Type, a.APIKeySecret)
	default:
		v.secretRef(at("api_key_secret"), a.APIKeySecret)
	}
	// Unset limits are 0 and left to the provider type.
	v.positiveIfSet(at("context_window"), a.ContextWindow)
	v.positiveIfSet(at("max_output_tokens"), a.MaxOutputTokens)
	if a.MaxOutputTokens >= a.ContextWindow && a.ContextWindow > 0 {
		v.fail(at("max_output_tokens"), "%d leaves no room for input in context_window %d", a.MaxOutputTokens, a.ContextWindow)
	}
	v.positive(at("request_timeout_seconds"), a.RequestTimeoutSeconds)
	// A slot's deployment overrides the agent's, so it needs a type that
	// has one.
	deployments := false
	if a.Settings != nil {
		_, deployments = settingsFields(reflect.ValueOf(a.Settings)).index["deployment"]
	}
	for i, slot := range a.Models.All() {
		key := "models." + slotKeys[i]
		v.positiveIfSet(at(key+".max_output_tokens"), slot.MaxOutputTokens)
		if !deployments {
			v.onlyFor(at(key+".deployment"), slot.Deployment, cmp.Or(v.l.schema.agentKeys.owners("deployment"), "no")+" agents")
		}
	}
	for _, model := range slices.Sorted(maps.Keys(a.Pricing)) {
		pr := a.Pricing[model]
		if pr.InputPerMillion < 0 || pr.OutputPerMillion < 0 || pr.CachedInputPerMillion < 0 || pr.CacheWritePerMillion < 0 {
			v.fail(child(at("pricing"), model), "prices must not be negative")
		}
	}
	v.retry(at, a.Retry)
	if cr := a.Compaction.TriggerRatio; cr <= 0 || cr > 1 {
		v.fail(at("compaction.trigger_ratio"), "want a ratio in (0, 1]")
	}
	if a.Compaction.KeepRecentTurns < 0 {
		v.fail(at("compaction.keep_recent_turns"), "must not be negative")
	}
}

// slotKeys are the keys of ModelSlots.All, in its order.
var slotKeys = []string{"planning", "execution", "review", "summarization"}

func (v *validator) retry(at func(string) string, r Retry) {
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

func (v *validator) trackers() {
	types := slices.Sorted(maps.Keys(v.l.schema.Trackers))
	for _, name := range slices.Sorted(maps.Keys(v.c.Trackers)) {
		t, p := v.c.Trackers[name], child("trackers", name)
		v.name(p, name)
		if !v.oneOf(keyPath(p, "type"), string(t.Type), types...) {
			continue
		}
		v.tracker(p, t, v.l.schema.Trackers[string(t.Type)])
		if t.Settings != nil {
			t.Settings.Validate(Block{v, p}, t)
		}
	}
}

// tracker checks the keys every tracker has.
func (v *validator) tracker(p string, t *Tracker, kind TrackerKind) {
	at := func(keys string) string { return keyPath(p, keys) }
	v.required(at("project"), t.Project)
	if v.required(at("url"), t.URL) {
		v.httpURL(at("url"), t.URL)
	}
	if t.Auth != "" {
		v.secretRef(at("auth"), t.Auth)
	}
	if v.l.set[at("webhook_secret")] && t.WebhookSecret == "" {
		v.fail(at("webhook_secret"), "is empty; remove the key to refuse webhooks")
	}
	if len(t.OpenStates) == 0 {
		v.fail(at("open_states"), "needs at least one state")
	}
	v.nonEmptyItems(at("open_states"), t.OpenStates)
	if len(t.TriggerLabels) == 0 && !kind.LabelsOptional {
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
