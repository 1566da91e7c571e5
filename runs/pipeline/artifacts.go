package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/runs"
)

// artifactDir is where a run's artifacts go in the primary repository.
func artifactDir(run string) string { return ".agentsmith/runs/" + run }

// artifactFiles are the run's artifacts by file name: the plan (Markdown
// and JSON) when there is one, and the result.
func (j *job) artifactFiles(o outcome) map[string]string {
	files := map[string]string{"result.md": j.scrub(renderResult(j.resultView(o)))}
	if j.plan != nil {
		files["plan.md"] = j.scrub("# Plan for ticket " + j.run.Ticket + ": " + j.ticket.Title + "\n\n" + j.planText)
		files["plan.json"] = j.scrub(j.planJSON())
	}
	return files
}

// keepArtifacts writes the artifacts to the runs directory on this
// machine for operators ({runs_dir}/{run}/). A directory that cannot be
// written (no volume mounted, a laptop) is logged and skipped: it never
// fails a run.
func (j *job) keepArtifacts(ctx context.Context, o outcome) {
	root := j.p.deps.RunsDir
	if root == "" {
		root = j.cfg.Orchestrator.RunsDir
	}
	if root == "" {
		return
	}
	dir := filepath.Join(root, j.run.ID)
	err := os.MkdirAll(dir, 0o755)
	for name, content := range j.artifactFiles(o) {
		if err != nil {
			break
		}
		err = os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	if err != nil {
		j.log.Info("run artifacts not kept: the runs directory is not writable", "dir", root, "reason", err.Error())
		return
	}
	j.log.V(1).Info("run artifacts kept", "dir", dir)
}

// resultView is everything result.md shows.
type resultView struct {
	RunID, Project, Pipeline string
	Attempt                  int
	TicketID, Title, URL     string
	Outcome                  outcome
	Skills                   string
	Repos                    []repoResult
	Summary                  string
	Decisions                []llm.Decision
	Minor                    []string
	Steps                    []stepRecord
	// Report is this attempt's model usage; Total includes the earlier
	// attempts.
	Report llm.Report
	Total  runs.Usage
}

func (j *job) resultView(o outcome) resultView {
	v := resultView{
		RunID: j.run.ID, Project: j.run.Project, Pipeline: j.run.Pipeline, Attempt: j.run.Attempt,
		TicketID: j.run.Ticket, Title: j.ticket.Title, URL: j.ticket.URL, Outcome: o,
		Repos: j.results(), Summary: j.summary, Decisions: j.decisions, Minor: findingsLines(j.minor),
		Steps: j.steps, Report: j.budget.Report(), Total: j.statusView(nil).Usage,
	}
	if j.catalog != nil {
		v.Skills = j.catalog.String()
	}
	return v
}

// renderResult is result.md.
func renderResult(v resultView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# agent-smith run %s\n\n", v.RunID)
	ticket := "#" + v.TicketID
	if v.Title != "" {
		ticket += " " + v.Title
	}
	if v.URL != "" {
		ticket = "[" + ticket + "](" + v.URL + ")"
	}
	fmt.Fprintf(&b, "- Ticket: %s\n- Project: %s, pipeline %s, attempt %d\n", ticket, v.Project, v.Pipeline, v.Attempt)
	if v.Skills != "" {
		fmt.Fprintf(&b, "- Skills: %s\n", v.Skills)
	}
	fmt.Fprintf(&b, "- Outcome: %s\n", outcomeText(v.Outcome))
	if len(v.Repos) > 0 {
		b.WriteString("\n## Repositories\n\n| Repository | Result |\n|---|---|\n")
		for _, r := range v.Repos {
			fmt.Fprintf(&b, "| %s | %s |\n", r.Name, cell(r.Result))
		}
	}
	if s := strings.TrimSpace(v.Summary); s != "" {
		b.WriteString("\n## Summary\n\n" + s + "\n")
	}
	if len(v.Decisions) > 0 {
		b.WriteString("\n## Decisions\n\n")
		for _, d := range v.Decisions {
			if d.Reason != "" {
				fmt.Fprintf(&b, "- %s: %s\n", d.Decision, d.Reason)
			} else {
				fmt.Fprintf(&b, "- %s\n", d.Decision)
			}
		}
	}
	if len(v.Minor) > 0 {
		b.WriteString("\n## Review notes\n\n")
		for _, m := range v.Minor {
			fmt.Fprintf(&b, "- %s\n", m)
		}
	}
	b.WriteString("\n## Steps\n\n| Step | Result | Seconds | Notes |\n|---|---|---:|---|\n")
	for _, s := range v.Steps {
		took := ""
		if s.State == stepDone || s.State == stepFailed {
			took = fmt.Sprintf("%.1f", s.Took.Seconds())
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", s.Name, s.State, took, cell(strings.Join(s.Notes, "; ")))
	}
	b.WriteString("\n" + v.Report.Markdown())
	if v.Attempt > 1 {
		fmt.Fprintf(&b, "\nAll %d attempts together: %d input and %d output tokens, $%.4f.\n", v.Attempt, v.Total.InputTokens, v.Total.OutputTokens, v.Total.CostUSD)
	}
	return b.String()
}

func outcomeText(o outcome) string {
	switch o.State {
	case runs.StateSucceeded:
		return "succeeded"
	case runs.StateFailed:
		s := fmt.Sprintf("failed at step %s: %s", o.Step, oneLine(o.Reason))
		if len(o.WIP) > 0 {
			s += "; unfinished work on " + strings.Join(o.WIP, ", ")
		}
		return s
	case runs.StateAwaitingInput:
		return fmt.Sprintf("waiting for answers to %d questions", len(o.Questions))
	case runs.StatePublishing:
		return "changes committed for review"
	}
	return string(o.State)
}
