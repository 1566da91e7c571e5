package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Secret returns the value of a `secrets` entry.
func (c *Config) Secret(name string) (string, bool) {
	v, ok := c.Secrets[name]
	return v, ok
}

// Credential is the value of the secret that an auth setting names; holds
// says what that secret should be (for the error when auth is empty).
func (c *Config) Credential(auth, holds string) (string, error) {
	if auth == "" {
		return "", fmt.Errorf("no auth: name the secret holding %s", holds)
	}
	v, ok := c.Secret(auth)
	if !ok || v == "" {
		return "", fmt.Errorf("auth %q names no secret with a value", auth)
	}
	return v, nil
}

// TrackerByName returns the tracker called name.
func (c *Config) TrackerByName(name string) (*Tracker, bool) {
	t, ok := c.Trackers[name]
	return t, ok
}

// ProjectsForTracker lists, sorted, the projects fed by the tracker.
func (c *Config) ProjectsForTracker(name string) []string {
	var out []string
	for pname, p := range c.Projects {
		if p.Tracker == name {
			out = append(out, pname)
		}
	}
	slices.Sort(out)
	return out
}

// WebhookRoutes maps each live webhook path to its tracker. Only trackers
// with a webhook_secret take webhooks. Each gets /webhooks/{type}/{name};
// the short /webhooks/{type} is live only while a single such tracker has
// that type, since otherwise it could not tell them apart.
func (c *Config) WebhookRoutes() map[string]string {
	routes := map[string]string{}
	perType := map[TrackerType][]string{}
	for name, t := range c.Trackers {
		if t.WebhookSecret == "" {
			continue
		}
		routes["/webhooks/"+string(t.Type)+"/"+name] = name
		perType[t.Type] = append(perType[t.Type], name)
	}
	for typ, names := range perType {
		if len(names) == 1 {
			routes["/webhooks/"+string(typ)] = names[0]
		}
	}
	return routes
}

// SandboxFor is the global sandbox block with the project's overrides
// applied; an unknown project gets the global block.
func (c *Config) SandboxFor(project string) Sandbox {
	s := c.Sandbox
	s.ToolchainImages = maps.Clone(c.Sandbox.ToolchainImages)
	p, ok := c.Projects[project]
	if !ok {
		return s
	}
	s.Resources = p.Sandbox.Resources
	s.AgentRegistry = p.Sandbox.AgentRegistry
	s.AgentVersion = p.Sandbox.AgentVersion
	if p.Sandbox.RunAsRoot != nil {
		s.RunAsRoot = *p.Sandbox.RunAsRoot
	}
	return s
}

// languageAliases fold the usual other names of a language (repos.x.language)
// onto the keys of sandbox.toolchain_images.
var languageAliases = map[string]string{
	"csharp": "dotnet", "c#": "dotnet", "fsharp": "dotnet",
	"javascript": "node", "typescript": "node", "js": "node", "ts": "node",
	"golang": "go", "kotlin": "java",
}

// ToolchainImage picks the image a repository's sandbox runs: the project's
// sandbox.toolchain_image (an override for all its repositories), else the
// repo's toolchain_image, else the image for the repo's language, else the
// default toolchain image. It is the only place that chooses: the sandbox
// pod exists before the checkout, so a language detected in the files
// comes too late to pick the image.
func (c *Config) ToolchainImage(project, repo string) string {
	if p, ok := c.Projects[project]; ok && p.Sandbox.ToolchainImage != "" {
		return p.Sandbox.ToolchainImage
	}
	lang := ""
	if r, ok := c.Repos[repo]; ok {
		if r.ToolchainImage != "" {
			return r.ToolchainImage
		}
		lang = r.Language
	}
	lang = strings.ToLower(lang)
	if alias, ok := languageAliases[lang]; ok {
		lang = alias
	}
	if image, ok := c.Sandbox.ToolchainImages[lang]; ok && lang != "" {
		return image
	}
	return c.Sandbox.DefaultToolchainImage
}

// ResolveAgentImage is the image whose init container injects the agent:
// agent_image if set; else own (the orchestrator's image, REPO:TAG) with
// its repository replaced by {agent_registry}/agent-smith when
// agent_registry is set and its tag by agent_version when that is set.
func (s *Sandbox) ResolveAgentImage(own string) string {
	if s.AgentImage != "" {
		return s.AgentImage
	}
	repo, tag := splitTag(own)
	if s.AgentRegistry != "" {
		repo = s.AgentRegistry + "/agent-smith"
	}
	if s.AgentVersion != "" {
		tag = s.AgentVersion
	}
	return repo + ":" + tag
}

// splitTag splits REPO:TAG at the tag's colon; a registry's port
// (host:5000/name) is not a tag. A reference without a tag gets "latest",
// as a container runtime would pull it.
func splitTag(ref string) (repo, tag string) {
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "latest"
	}
	return ref[:i], ref[i+1:]
}

// Trigger returns the project's trigger block; loading sets it whenever
// the project's tracker is defined.
func (p *Project) Trigger() *Trigger { return p.TriggerBlock }

// PipelineFor picks the pipeline for a ticket of the project carrying
// labels: the trigger's pipeline_from_label (which defaults to the
// project's), then the global pipeline_triggers, then the default
// pipeline. Labels compare case-insensitively; when several labels map to
// pipelines, the alphabetically first mapped label wins. A ticket whose
// labels map to nothing runs the default pipeline rather than being
// dropped.
func (c *Config) PipelineFor(project string, labels []string) string {
	p, ok := c.Projects[project]
	if !ok {
		return PipelineFixBug
	}
	has := map[string]bool{}
	for _, l := range labels {
		has[strings.ToLower(l)] = true
	}
	fromLabel, fallback := p.PipelineFromLabel, p.DefaultPipeline
	if t := p.Trigger(); t != nil {
		fromLabel, fallback = t.PipelineFromLabel, t.DefaultPipeline
	}
	for _, m := range []map[string]string{fromLabel, c.PipelineTriggers} {
		for _, label := range slices.Sorted(maps.Keys(m)) {
			if has[strings.ToLower(label)] {
				return m[label]
			}
		}
	}
	return fallback
}
