package config

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// WriteSummary writes a one-screen overview for an operator: projects with
// their tracker, repos, agent and pipelines; trackers with polling and
// their live webhook paths (or why they refuse webhooks); repos; agents,
// with what their type says of each model slot (SlotDescriber).
// It prints the redacted config, so it is safe for logs.
func (c *Config) WriteSummary(w io.Writer) {
	r := c.Redacted()
	var b strings.Builder
	r.summarizeProjects(&b)
	r.summarizeTrackers(&b)
	r.summarizeRepos(&b)
	r.summarizeAgents(&b)
	// The summary is informational; a failed write to the terminal or log
	// has no one to report to.
	_, _ = io.WriteString(w, b.String())
}

func heading(b *strings.Builder, title string, n int) {
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "%s (%d)\n", title, n)
}

func nameWidth[T any](m map[string]T) int {
	w := 0
	for name := range m {
		w = max(w, len(name))
	}
	return w
}

func (c *Config) summarizeProjects(b *strings.Builder) {
	heading(b, "projects", len(c.Projects))
	width := nameWidth(c.Projects)
	for _, name := range slices.Sorted(maps.Keys(c.Projects)) {
		p := c.Projects[name]
		fmt.Fprintf(b, "  %-*s  tracker %s, agent %s\n", width, name, p.Tracker, p.Agent)
		fmt.Fprintf(b, "  %-*s  repos %s\n", width, "", strings.Join(p.Repos, ", "))
		t := p.Trigger()
		if t == nil {
			continue
		}
		fmt.Fprintf(b, "  %-*s  %s\n", width, "", describeResolution(t.ProjectResolution))
		fmt.Fprintf(b, "  %-*s  pipelines: default %s%s\n", width, "", t.DefaultPipeline, labelPipelines(t.PipelineFromLabel, c.PipelineTriggers))
	}
}

// describeResolution says which tickets a project takes.
func describeResolution(r ProjectResolution) string {
	switch r.Strategy {
	case ResolveByTag:
		return fmt.Sprintf("resolves tickets by label %q", r.Value)
	case ResolveByRepo:
		return fmt.Sprintf("resolves tickets by repository: the issues of repo %s", r.Value)
	case ResolveByAreaPath:
		return fmt.Sprintf("resolves tickets by area path %q and below", r.Value)
	}
	return fmt.Sprintf("resolves tickets by %s %q", r.Strategy, r.Value)
}

// labelPipelines lists label → pipeline mappings in the order PipelineFor
// consults them.
func labelPipelines(tables ...map[string]string) string {
	var parts []string
	seen := map[string]bool{}
	for _, m := range tables {
		for _, label := range slices.Sorted(maps.Keys(m)) {
			if key := strings.ToLower(label); !seen[key] {
				seen[key] = true
				parts = append(parts, label+" → "+m[label])
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; by label " + strings.Join(parts, ", ")
}

func (c *Config) summarizeTrackers(b *strings.Builder) {
	heading(b, "trackers", len(c.Trackers))
	width := nameWidth(c.Trackers)
	routes := map[string][]string{}
	for path, name := range c.WebhookRoutes() {
		routes[name] = append(routes[name], path)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Trackers)) {
		t := c.Trackers[name]
		fmt.Fprintf(b, "  %-*s  %s %s at %s, labels %s\n", width, name, t.Type, t.Project, t.URL, strings.Join(t.TriggerLabels, ", "))
		polling := "polling off"
		if t.Polling.Enabled {
			polling = fmt.Sprintf("polling every %ds ±%d%%", t.Polling.IntervalSeconds, t.Polling.JitterPercent)
		}
		fmt.Fprintf(b, "  %-*s  %s\n", width, "", polling)
		paths := routes[name]
		if len(paths) == 0 {
			fmt.Fprintf(b, "  %-*s  webhooks refused: no webhook_secret\n", width, "")
			continue
		}
		slices.Sort(paths)
		fmt.Fprintf(b, "  %-*s  webhooks POST %s\n", width, "", strings.Join(paths, ", "))
	}
}

func (c *Config) summarizeRepos(b *strings.Builder) {
	heading(b, "repos", len(c.Repos))
	width := nameWidth(c.Repos)
	for _, name := range slices.Sorted(maps.Keys(c.Repos)) {
		r := c.Repos[name]
		fmt.Fprintf(b, "  %-*s  %-12s %s\n", width, name, r.Type, r.URL)
	}
}

func (c *Config) summarizeAgents(b *strings.Builder) {
	heading(b, "agents", len(c.Agents))
	width := nameWidth(c.Agents)
	for _, name := range slices.Sorted(maps.Keys(c.Agents)) {
		a := c.Agents[name]
		model := a.Model
		if d, ok := a.Settings.(interface{ DescribeModel(string) string }); ok {
			model = d.DescribeModel(model)
		}
		fmt.Fprintf(b, "  %-*s  %-12s %s\n", width, name, a.Type, model)
		if d, ok := a.Settings.(SlotDescriber); ok {
			summarizeSlots(b, width+4, a, d)
		}
	}
}

// summarizeSlots writes the slots' lines, indented by indent; slots with
// the same line share it.
func summarizeSlots(b *strings.Builder, indent int, a *Agent, d SlotDescriber) {
	var lines []string
	slots := map[string][]string{}
	for _, slot := range slotKeys {
		line := d.DescribeSlot(a, slot)
		if line == "" {
			continue
		}
		if _, seen := slots[line]; !seen {
			lines = append(lines, line)
		}
		slots[line] = append(slots[line], slot)
	}
	labels, width := make([]string, len(lines)), 0
	for i, line := range lines {
		labels[i] = strings.Join(slots[line], ", ")
		if len(slots[line]) == len(slotKeys) {
			labels[i] = "all slots"
		}
		width = max(width, len(labels[i]))
	}
	for i, line := range lines {
		fmt.Fprintf(b, "%*s%-*s  %s\n", indent, "", width, labels[i], line)
	}
}
