package config

import (
	"maps"
	"net/mail"
	neturl "net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

func (v *validator) projects() {
	if len(v.c.Projects) == 0 {
		v.fail("projects", "at least one project is required: a project ties a tracker to repos and an agent")
		return
	}
	for _, name := range slices.Sorted(maps.Keys(v.c.Projects)) {
		v.project(name, v.c.Projects[name])
	}
}

func (v *validator) project(name string, p *Project) {
	path := child("projects", name)
	at := func(keys string) string { return keyPath(path, keys) }
	v.name(path, name)
	ref(v, at("agent"), "agent", p.Agent, v.c.Agents)
	trackerOK := ref(v, at("tracker"), "tracker", p.Tracker, v.c.Trackers)
	if len(p.Repos) == 0 {
		v.fail(at("repos"), "needs at least one repo")
	}
	seen := map[string]bool{}
	for i, r := range p.Repos {
		rp := at("repos") + "[" + strconv.Itoa(i) + "]"
		if seen[r] {
			v.fail(rp, "repo %s is listed twice", v.quote(rp, r))
			continue
		}
		seen[r] = true
		ref(v, rp, "repo", r, v.c.Repos)
	}
	v.pipeline(at("default_pipeline"), p.DefaultPipeline)
	for _, label := range slices.Sorted(maps.Keys(p.PipelineFromLabel)) {
		v.pipeline(child(at("pipeline_from_label"), label), p.PipelineFromLabel[label])
	}
	v.localPath(at("skills_path"), p.SkillsPath)
	if v.required(at("coding_principles_path"), p.CodingPrinciplesPath) {
		v.localPath(at("coding_principles_path"), p.CodingPrinciplesPath)
	}
	v.commit(at("commit"), p.Commit)
	v.resources(at("sandbox.resources"), p.Sandbox.Resources, func(key string) bool {
		return v.l.set[at("sandbox.resources."+key)]
	})
	// Inherited values are checked where the file gives them.
	if v.l.set[at("sandbox.agent_registry")] {
		v.registry(at("sandbox.agent_registry"), p.Sandbox.AgentRegistry)
	}
	if v.l.set[at("sandbox.agent_version")] {
		v.tag(at("sandbox.agent_version"), p.Sandbox.AgentVersion)
	}
	v.image(at("sandbox.toolchain_image"), p.Sandbox.ToolchainImage)
	if p.Sandbox.RunAsRoot != nil && !*p.Sandbox.RunAsRoot && v.c.Sandbox.RunAsUser == 0 {
		v.fail(at("sandbox.run_as_root"), "sandbox.run_as_user is 0 (root); a non-root project needs a non-zero run_as_user")
	}
	if trackerOK {
		v.triggers(path, p, v.c.Trackers[p.Tracker])
	}
}

// triggers checks the project's trigger block: one written under a tracker
// type's alias must be its tracker's, and the contents must suit the
// tracker's type.
func (v *validator) triggers(path string, p *Project, t *Tracker) {
	trig := p.TriggerBlock
	kind, known := v.l.schema.Trackers[string(t.Type)]
	if trig == nil || !known {
		return
	}
	bp := v.l.triggerPath(path)
	if alias, aliased := v.l.schema.aliases[v.l.triggers[path].key]; aliased && alias != string(t.Type) {
		want := "trigger"
		if kind.TriggerAlias != "" {
			want = kind.TriggerAlias + " or trigger"
		}
		v.fail(bp, "tracker %s is of type %s; its projects take %s", v.quote(child(path, "tracker"), p.Tracker), t.Type, want)
		return
	}
	v.trigger(bp, p, kind, t, trig)
	if trig.Settings != nil {
		trig.Settings.Validate(Block{v, bp}, t)
	}
}

func (v *validator) trigger(path string, p *Project, kind TrackerKind, t *Tracker, trig *Trigger) {
	at := func(keys string) string { return keyPath(path, keys) }
	res, rp := trig.ProjectResolution, at("project_resolution")
	if v.oneOf(child(rp, "strategy"), res.Strategy, v.l.schema.strategies...) {
		switch {
		case res.Strategy == ResolveByRepo && !kind.RepoTickets:
			v.fail(child(rp, "strategy"), "repo only applies to %s trackers, whose tickets live in a repository; tracker %s is of type %s, whose tickets carry no repository: use tag (a label the tickets carry)",
				v.l.schema.supporters(ResolveByRepo), v.quote(child(parent(path), "tracker"), p.Tracker), t.Type)
		case !slices.Contains(kind.strategies(), res.Strategy):
			v.fail(child(rp, "strategy"), "%s only applies to %s trackers", res.Strategy, v.l.schema.supporters(res.Strategy))
		case res.Strategy == ResolveByRepo:
			v.repoResolution(path, p, t, res)
		default:
			// A tag, an area path: the value names it.
			v.required(child(rp, "value"), res.Value)
		}
	}
	v.nonEmptyItems(at("trigger_statuses"), trig.TriggerStatuses)
	v.pipeline(at("default_pipeline"), trig.DefaultPipeline)
	for _, label := range slices.Sorted(maps.Keys(trig.PipelineFromLabel)) {
		v.pipeline(child(at("pipeline_from_label"), label), trig.PipelineFromLabel[label])
	}
}

// repoResolution checks strategy repo: the project has one repository,
// the value names it, and it is the tracker's own, since a tracker reads
// the tickets of its project's repository alone.
func (v *validator) repoResolution(path string, p *Project, t *Tracker, res ProjectResolution) {
	rp := keyPath(path, "project_resolution")
	switch {
	case len(p.Repos) != 1:
		v.fail(child(rp, "strategy"), "repo needs a project with exactly one repo, this one has %d", len(p.Repos))
	case res.Value != p.Repos[0]:
		v.fail(child(rp, "value"), "want the project's repo %s", v.quote(child(parent(path), "repos")+"[0]", p.Repos[0]))
	default:
		// A GitLab project named by its numeric id cannot be compared
		// with a URL here; the tracker matches deliveries by the id.
		if r := v.c.Repos[res.Value]; r != nil && !numericProject(t.Project) && !trackersRepo(r.URL, t.Project) {
			v.fail(child(rp, "value"), "tracker %s reads the tickets of %s, so its tickets can never be in repo %s (url %s): use tag, or a tracker of that repository",
				v.quote(child(parent(path), "tracker"), p.Tracker), t.Project, res.Value, v.quote(keyPath(child("repos", res.Value), "url"), r.URL))
		}
	}
}

// trackersRepo reports whether the repository at url is the one project
// names: its URL's path is the project's path (case, a trailing .git and
// slashes aside), for https and scp-style (git@host:group/name.git) URLs.
func trackersRepo(url, project string) bool {
	p := url
	if u, err := neturl.Parse(url); err == nil && u.Host != "" {
		p = u.Path
	} else if _, after, ok := strings.Cut(url, ":"); ok && strings.Contains(url, "@") {
		p = after
	}
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	want := strings.Trim(project, "/")
	return want != "" && strings.EqualFold(p, want)
}

// numericProject reports whether a tracker's project is a GitLab project
// id rather than a path.
func numericProject(project string) bool {
	_, err := strconv.ParseUint(project, 10, 64)
	return err == nil
}

// localPath checks an optional path that must stay inside the repository.
func (v *validator) localPath(path, p string) {
	if p != "" && !filepath.IsLocal(p) {
		v.fail(path, "want a relative path inside the repository")
	}
}

// commit checks the author git writes into every commit: a name and a bare
// address, neither of which may break the header line.
func (v *validator) commit(path string, c Commit) {
	name, email := keyPath(path, "author_name"), keyPath(path, "author_email")
	if v.required(name, c.AuthorName) && strings.ContainsAny(c.AuthorName, "<>\n") {
		v.fail(name, "%s may not contain <, > or a line break", v.quote(name, c.AuthorName))
	}
	if !v.required(email, c.AuthorEmail) {
		return
	}
	if a, err := mail.ParseAddress(c.AuthorEmail); err != nil || a.Address != c.AuthorEmail || a.Name != "" {
		v.fail(email, "%s is not an address like agent-smith@example.com", v.quote(email, c.AuthorEmail))
	}
}
