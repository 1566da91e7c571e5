package trackers

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/agent-smith/agent-smith/config"
)

// Match is a project a ticket resolved to: the run to submit for it.
type Match struct {
	Project  string
	Pipeline string
	Repos    []string
	// DoneStatus is where the ticket goes when the run's pull requests are
	// open (the project trigger's done_status).
	DoneStatus string
}

// Resolution is what Resolve decided: the matches, or why there are none.
type Resolution struct {
	Matches []Match
	// Reason says why nothing matched; empty when Matches is not.
	Reason string
}

// Resolve decides which projects a verified webhook event starts work
// for. It is pure. The rules, in order:
//   - an event the tracker marked Ignore, or a ping, is nothing;
//   - a ticket event must carry a Trigger (the tracker saw a trigger label
//     added, an assignment, a state change into a trigger state);
//   - a comment must come from a trusted author other than agent-smith
//     itself (Comment.Own) and hold the project's
//     comment_keyword at the start of a line; a keyword argument naming a
//     pipeline (/agent-smith fix-bug) picks it;
//   - then per project of the tracker: project_resolution (tag, area_path,
//     repo), then the trigger_statuses gate, then the pipeline.
//
// Lifecycle labels (agent-smith:queued, …) never match a tag or pipeline.
func Resolve(cfg *config.Config, tracker string, ev Event) Resolution {
	switch {
	case ev.Ignore != "":
		return Resolution{Reason: ev.Ignore}
	case ev.Kind == EventPing:
		return Resolution{Reason: "ping"}
	case ev.Kind == EventComment:
		if ev.Comment == nil {
			return Resolution{Reason: "comment event without a comment"}
		}
		if ev.Comment.Own {
			return Resolution{Reason: "comment is agent-smith's own"}
		}
		if !ev.Comment.Trusted {
			return Resolution{Reason: fmt.Sprintf("comment author %s may not instruct agent-smith (no write access)", ev.Comment.Author)}
		}
		return resolve(cfg, tracker, ev.Ticket, ev.Comment)
	case ev.Trigger == "":
		return Resolution{Reason: "nothing triggering changed"}
	}
	return resolve(cfg, tracker, ev.Ticket, nil)
}

// ResolveTicket decides which projects a polled ticket starts work for: it
// must carry one of the tracker's trigger labels (Poller already left out
// tickets with a lifecycle label); the rest is as in Resolve.
func ResolveTicket(cfg *config.Config, tracker string, t Ticket) Resolution {
	tc, ok := cfg.TrackerByName(tracker)
	if !ok {
		return Resolution{Reason: fmt.Sprintf("unknown tracker %s", tracker)}
	}
	if triggerLabel(tc.TriggerLabels, t.Labels) == "" {
		return Resolution{Reason: fmt.Sprintf("ticket has none of the trigger labels %s", strings.Join(tc.TriggerLabels, ", "))}
	}
	return resolve(cfg, tracker, t, nil)
}

func resolve(cfg *config.Config, tracker string, t Ticket, comment *Comment) Resolution {
	if _, ok := cfg.TrackerByName(tracker); !ok {
		return Resolution{Reason: fmt.Sprintf("unknown tracker %s", tracker)}
	}
	projects := cfg.ProjectsForTracker(tracker)
	if len(projects) == 0 {
		return Resolution{Reason: fmt.Sprintf("no project uses tracker %s", tracker)}
	}
	labels := slices.DeleteFunc(slices.Clone(t.Labels), IsLifecycleLabel)
	var res Resolution
	var misses []string
	for _, name := range projects {
		p := cfg.Projects[name]
		trig := p.Trigger()
		if trig == nil {
			misses = append(misses, name+": no trigger block")
			continue
		}
		if why := projectMiss(cfg, trig.ProjectResolution, t, labels); why != "" {
			misses = append(misses, name+": "+why)
			continue
		}
		if len(trig.TriggerStatuses) > 0 && !containsFold(trig.TriggerStatuses, t.State) {
			misses = append(misses, fmt.Sprintf("%s: state %q is not one of trigger_statuses %s", name, t.State, strings.Join(trig.TriggerStatuses, ", ")))
			continue
		}
		pipeline := pipelineFor(cfg, p, trig, labels)
		if comment != nil {
			found, arg := command(comment.Body, trig.CommentKeyword)
			if !found {
				misses = append(misses, fmt.Sprintf("%s: comment has no %s command", name, trig.CommentKeyword))
				continue
			}
			if config.IsPipeline(arg) {
				pipeline = arg
			}
		}
		res.Matches = append(res.Matches, Match{Project: name, Pipeline: pipeline, Repos: slices.Clone(p.Repos), DoneStatus: trig.DoneStatus})
	}
	if len(res.Matches) == 0 {
		res.Reason = "no project matches (" + strings.Join(misses, "; ") + ")"
	}
	return res
}

// projectMiss says why a ticket is not the project's by its
// project_resolution, or "" when it is.
func projectMiss(cfg *config.Config, pr config.ProjectResolution, t Ticket, labels []string) string {
	switch pr.Strategy {
	case config.ResolveByTag:
		if !containsFold(labels, pr.Value) {
			return fmt.Sprintf("no label %q", pr.Value)
		}
	case config.ResolveByAreaPath:
		if !underAreaPath(t.AreaPath, pr.Value) {
			return fmt.Sprintf("area path %q is not under %q", t.AreaPath, pr.Value)
		}
	case config.ResolveByRepo:
		r, ok := cfg.Repos[pr.Value]
		if !ok {
			return fmt.Sprintf("repo %s is not configured", pr.Value)
		}
		if t.Repo == "" || repoKey(t.Repo) != repoKey(r.URL) {
			return fmt.Sprintf("ticket is not in repo %s", pr.Value)
		}
	default:
		return fmt.Sprintf("unknown project_resolution strategy %q", pr.Strategy)
	}
	return ""
}

// pipelineFor picks the pipeline from the ticket's labels: the trigger's
// pipeline_from_label, then the project's, then the global
// pipeline_triggers, else the trigger's default_pipeline. Within one map
// the alphabetically first mapped label wins, as in config.PipelineFor, so
// the choice does not depend on the order a tracker lists labels in.
func pipelineFor(cfg *config.Config, p *config.Project, trig *config.Trigger, labels []string) string {
	for _, m := range []map[string]string{trig.PipelineFromLabel, p.PipelineFromLabel, cfg.PipelineTriggers} {
		for _, label := range slices.Sorted(maps.Keys(m)) {
			if containsFold(labels, label) {
				return m[label]
			}
		}
	}
	return trig.DefaultPipeline
}

// command finds keyword at the start of a line of body (quoted lines, which
// repeat someone else's words, do not count) and returns the word after it.
func command(body, keyword string) (found bool, arg string) {
	if keyword == "" {
		return false, ""
	}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, ">") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.EqualFold(fields[0], keyword) {
			continue
		}
		if len(fields) > 1 {
			arg = strings.ToLower(fields[1])
		}
		return true, arg
	}
	return false, ""
}

// triggerLabel is the first of labels that is a trigger label.
func triggerLabel(trigger, labels []string) string {
	for _, l := range labels {
		if !IsLifecycleLabel(l) && containsFold(trigger, l) {
			return l
		}
	}
	return ""
}

// underAreaPath reports whether path is area or below it; `\` and `/`
// separate alike and case does not matter, as in Azure DevOps.
func underAreaPath(path, area string) bool {
	norm := func(s string) string {
		return strings.ToLower(strings.Trim(strings.ReplaceAll(s, `\`, "/"), "/"))
	}
	p, a := norm(path), norm(area)
	return a != "" && (p == a || strings.HasPrefix(p, a+"/"))
}

// repoKey normalizes a repository URL to host/path: scheme, userinfo,
// case, a trailing slash and .git do not matter, and scp-style
// git@host:owner/name equals https://host/owner/name.
func repoKey(raw string) string {
	raw = strings.TrimSpace(raw)
	host, path := "", ""
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		host, path = u.Hostname(), u.Path
	} else if at := strings.Index(raw, "@"); at >= 0 {
		if h, p, ok := strings.Cut(raw[at+1:], ":"); ok {
			host, path = h, p
		}
	}
	if host == "" {
		return strings.ToLower(strings.TrimSuffix(strings.TrimRight(raw, "/"), ".git"))
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	return strings.ToLower(host + "/" + path)
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
