package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
)

// stepState is where a step of the run is.
type stepState string

const (
	stepPending stepState = "pending"
	stepRunning stepState = "running"
	stepDone    stepState = "done"
	stepFailed  stepState = "failed"
	stepSkipped stepState = "skipped"
)

var stepIcons = map[stepState]string{
	stepPending: "⬜", stepRunning: "⏳", stepDone: "✅", stepFailed: "❌", stepSkipped: "➖",
}

// stepRecord is one step as the status comment and the result show it.
type stepRecord struct {
	Name    string
	State   stepState
	Started time.Time
	Took    time.Duration
	// Notes are what happened in the step worth a reader's attention
	// (a retry, a skipped repository).
	Notes []string
}

// outcome is how an execution ended.
type outcome struct {
	State runs.State
	// Step and Reason say where and why a run failed.
	Step, Reason string
	// WIP lists the branches the unfinished work was pushed to.
	WIP       []string
	Questions []string
	// Kind qualifies a cancellation (runs.OutcomeExpired).
	Kind string
}

// repoResult is what the run did in one repository.
type repoResult struct {
	Name string
	// Result is Markdown: a pull request link, "skipped (no changes)", …
	Result string
}

// statusView is everything the status comment shows.
type statusView struct {
	RunID    string
	Pipeline string
	Attempt  int
	Steps    []stepRecord
	// Outcome is nil while the run is going.
	Outcome *outcome
	Repos   []repoResult
	Skills  string
	Usage   runs.Usage
	// Skipped are the finalizer's notes on ticket writes it gave up on.
	Skipped []string
}

// statusMarker starts every status comment. It tells the kinds of
// agent-smith's comments apart once the author said they are its own (and,
// on a tracker where agent-smith acts as a person, which of that person's
// comments are agent-smith's); in anyone else's comment it means nothing.
func statusMarker(run string) string { return trackers.MarkPrefix + "status run=" + run + " -->" }

// renderStatus is the status comment.
func renderStatus(v statusView) string {
	var b strings.Builder
	b.WriteString(statusMarker(v.RunID) + "\n")
	head := "is working on this"
	if v.Outcome != nil {
		switch v.Outcome.State {
		case runs.StateSucceeded:
			head = "finished"
		case runs.StateFailed:
			head = "failed at step `" + v.Outcome.Step + "`"
		case runs.StateAwaitingInput:
			head = "is waiting for answers"
		case runs.StateCancelled:
			head = "was cancelled"
			if v.Outcome.Kind == runs.OutcomeExpired {
				head = "stopped waiting for answers"
			}
		}
	}
	fmt.Fprintf(&b, "### agent-smith %s\n\n", head)
	fmt.Fprintf(&b, "Pipeline `%s` · run `%s` · attempt %d", v.Pipeline, v.RunID, v.Attempt)
	if v.Skills != "" {
		fmt.Fprintf(&b, " · skills %s", v.Skills)
	}
	b.WriteString("\n\n| | Step | Time | Notes |\n|---|---|---:|---|\n")
	why := ""
	if v.Outcome != nil && (v.Outcome.State == runs.StateFailed || v.Outcome.State == runs.StateCancelled) {
		why = v.Outcome.Reason
	}
	for _, s := range v.Steps {
		took := ""
		if s.State == stepDone || s.State == stepFailed {
			took = seconds(s.Took)
		}
		// The failed step's note of the reason is told once, under Why.
		notes := slices.DeleteFunc(slices.Clone(s.Notes), func(n string) bool { return why != "" && n == why })
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", stepIcons[s.State], s.Name, took, cell(strings.Join(notes, "; ")))
	}
	if why != "" {
		fmt.Fprintf(&b, "\n**Why:** %s\n", cell(why))
	}
	if v.Outcome != nil && len(v.Outcome.WIP) > 0 {
		fmt.Fprintf(&b, "\nUnfinished work was pushed to %s.\n", strings.Join(v.Outcome.WIP, ", "))
	}
	if len(v.Repos) > 0 {
		b.WriteString("\n| Repository | Result |\n|---|---|\n")
		for _, r := range v.Repos {
			fmt.Fprintf(&b, "| %s | %s |\n", r.Name, cell(r.Result))
		}
	}
	if v.Usage.InputTokens+v.Usage.OutputTokens > 0 {
		fmt.Fprintf(&b, "\n%s\n", usageLine(v.Usage))
	}
	for _, s := range v.Skipped {
		fmt.Fprintf(&b, "\n_%s_\n", cell(s))
	}
	return b.String()
}

func usageLine(u runs.Usage) string {
	return fmt.Sprintf("Model usage: %d input and %d output tokens, $%.4f.", u.InputTokens, u.OutputTokens, u.CostUSD)
}

// cell makes text safe for one Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.Join(strings.Fields(s), " ")
	const limit = 600
	if len(s) > limit {
		s = s[:limit] + " …"
	}
	return s
}

// failureComment tells the ticket's watchers that the run failed, where
// and why.
func failureComment(run, step, reason string, wip []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s -->\n### %s `%s`\n\n%s\n", finalMark(runs.StateFailed, run), wholeHeads[runs.StateFailed], step, quote(reason))
	if len(wip) > 0 {
		fmt.Fprintf(&b, "\nThe unfinished work is on %s.\n", strings.Join(wip, ", "))
	}
	fmt.Fprintf(&b, "\nRun `%s`. Fix what is described above and label the ticket again, or comment the project's keyword, to retry.\n", run)
	return b.String()
}

// cancelledComment tells the ticket's watchers that the run was called off
// and why.
func cancelledComment(run, reason string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s -->\n### %s\n\n", finalMark(runs.StateCancelled, run), wholeHeads[runs.StateCancelled])
	if reason != "" {
		b.WriteString(quote(reason) + "\n\n")
	}
	fmt.Fprintf(&b, "Run `%s`. Label the ticket again, or comment the project's keyword, to start over.\n", run)
	return b.String()
}

// finalMark starts the comment that tells the ticket how run ended in
// state (failed, done, cancelled), without its closing " -->".
func finalMark(st runs.State, run string) string {
	kind := map[runs.State]string{runs.StateFailed: "failed", runs.StateSucceeded: "done", runs.StateCancelled: "cancelled"}[st]
	return trackers.MarkPrefix + kind + " run=" + run
}

// questionsMarker starts a questions comment: the planner reads agent-smith's
// own questions back, with the answers after them, when the run resumes.
// Each round of questions has a mark of its own.
func questionsMarker(run string, round int) string {
	return fmt.Sprintf("%squestions run=%s round=%d -->", trackers.MarkPrefix, run, round)
}

// questionsComment asks the ticket's people what the plan needs to know in
// its round of questions; mark is its questionsMarker. A later round is
// headed as such, so no two rounds read alike.
func questionsComment(mark string, round int, questions []string) string {
	var b strings.Builder
	head := "has questions before it starts"
	if round > 1 {
		head = fmt.Sprintf("has more questions (round %d)", round)
	}
	fmt.Fprintf(&b, "%s\n### agent-smith %s\n\n", mark, head)
	for i, q := range questions {
		fmt.Fprintf(&b, "%d. %s\n", i+1, strings.TrimSpace(q))
	}
	b.WriteString("\nAnswer in a comment on this ticket; the run continues with your answer.\n")
	return b.String()
}

// finalComment is the summary comment of a successful run.
func finalComment(run, summary string, repos []repoResult, u runs.Usage) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s -->\n### %s\n\n", finalMark(runs.StateSucceeded, run), wholeHeads[runs.StateSucceeded])
	if summary != "" {
		b.WriteString(strings.TrimSpace(summary) + "\n\n")
	}
	if len(repos) > 0 {
		b.WriteString("| Repository | Result |\n|---|---|\n")
		for _, r := range repos {
			fmt.Fprintf(&b, "| %s | %s |\n", r.Name, cell(r.Result))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Run `%s`. %s\n", run, usageLine(u))
	return b.String()
}

// noticeRef is how an ending notice names the status comment.
const noticeRef = "status comment"

// wholeHeads head the whole comments on how a run ended (by its state);
// an ending notice has none of them.
var wholeHeads = map[runs.State]string{
	runs.StateSucceeded: "agent-smith finished",
	runs.StateFailed:    "agent-smith failed at step",
	runs.StateCancelled: "agent-smith stopped",
}

// endingNotice is the comment that tells the ticket's watchers that run
// ended, when its status comment already shows how: an edited comment
// notifies nobody on any of the trackers, a new one does. It says only
// what the status comment does not (what changed, what to do next) and has
// no heading, table or usage of its own, so the two never repeat each
// other. A ticket without a status comment gets the whole comments above.
func endingNotice(run runs.Run) string {
	var b strings.Builder
	b.WriteString(finalMark(run.State, run.ID) + " -->\n")
	switch run.State {
	case runs.StateSucceeded:
		summary := strings.TrimSpace(run.Outcome.Summary)
		switch {
		case run.Outcome.NothingToDo:
			fmt.Fprintf(&b, "**Done, with nothing to change:** the plan step in the %s says why.\n", noticeRef)
		case strings.Contains(summary, "\n"):
			fmt.Fprintf(&b, "**Done.**\n\n%s\n", summary)
		case summary != "":
			fmt.Fprintf(&b, "**Done.** %s\n", summary)
		default:
			b.WriteString("**Done.**\n")
		}
		if n := len(run.Outcome.Repos); !run.Outcome.NothingToDo && n > 0 {
			what := "pull request"
			if n > 1 {
				what = "pull requests"
			}
			fmt.Fprintf(&b, "\nReview the %s linked in the %s.\n", what, noticeRef)
		}
	case runs.StateFailed:
		wip := ""
		if len(run.Outcome.WIP) > 0 {
			wip = ", and the branch with the unfinished work"
		}
		fmt.Fprintf(&b, "**agent-smith could not finish.** The %s shows the step it stopped at and why%s.\n\n", noticeRef, wip)
		b.WriteString("Fix what it describes, then label the ticket again or comment the project's keyword to retry.\n")
	case runs.StateCancelled:
		fmt.Fprintf(&b, "**The run was called off;** the %s shows where it stood. ", noticeRef)
		b.WriteString("Label the ticket again, or comment the project's keyword, to start over.\n")
	}
	return b.String()
}

// quote renders text as a Markdown block quote.
func quote(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}
