package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/skills"
	"github.com/agent-smith/agent-smith/trackers"
)

// maxQuestionRounds bounds the back and forth: a plan still asking after
// this many answers fails instead of parking forever.
const maxQuestionRounds = 3

// Plan is the planner's answer.
type Plan struct {
	Summary string     `json:"summary"`
	Steps   []PlanStep `json:"steps"`
	Files   []string   `json:"files,omitempty"`
	Risks   []string   `json:"risks,omitempty"`
	// Questions, when any, park the run until someone answers on the
	// ticket.
	Questions []string `json:"questions"`
}

// PlanStep is one change of the plan, in one repository.
type PlanStep struct {
	Repo        string `json:"repo"`
	Description string `json:"description"`
}

// Validate checks the plan's shape; the model gets one repair turn when it
// fails.
func (p *Plan) Validate() error {
	var errs []error
	if strings.TrimSpace(p.Summary) == "" {
		errs = append(errs, errors.New("summary is empty"))
	}
	for i, s := range p.Steps {
		if strings.TrimSpace(s.Description) == "" {
			errs = append(errs, fmt.Errorf("steps[%d] has no description", i))
		}
	}
	for i, q := range p.Questions {
		if strings.TrimSpace(q) == "" {
			errs = append(errs, fmt.Errorf("questions[%d] is empty", i))
		}
	}
	return errors.Join(errs...)
}

// resolveRepos fills in the repository of steps on a single-repository run
// and checks that every step names one of repos.
func (p *Plan) resolveRepos(repos []string) error {
	var errs []error
	for i := range p.Steps {
		s := &p.Steps[i]
		if s.Repo == "" && len(repos) == 1 {
			s.Repo = repos[0]
		}
		if !slices.Contains(repos, s.Repo) {
			errs = append(errs, fmt.Errorf("plan step %d names repository %q, which is not one of this run's (%s)", i+1, s.Repo, strings.Join(repos, ", ")))
		}
	}
	return errors.Join(errs...)
}

// Markdown renders the plan for prompts, the pull request and plan.md.
func (p *Plan) Markdown() string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(p.Summary) + "\n")
	if len(p.Steps) > 0 {
		b.WriteString("\n")
		for i, s := range p.Steps {
			fmt.Fprintf(&b, "%d. **%s**: %s\n", i+1, s.Repo, strings.TrimSpace(s.Description))
		}
	}
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, it := range items {
			fmt.Fprintf(&b, "- %s\n", strings.TrimSpace(it))
		}
	}
	list("Files", p.Files)
	list("Risks", p.Risks)
	list("Open questions", p.Questions)
	return b.String()
}

// planWork asks the planning model for the plan. Questions park the run;
// a plan without steps means there is nothing to change.
func (j *job) planWork(ctx context.Context) error {
	model, err := j.model(ctx, llm.SlotPlanning)
	if err != nil {
		return err
	}
	in := j.input()
	system, err := j.system(in)
	if err != nil {
		return err
	}
	prompt, err := j.catalog.Render(skills.Planner, in)
	if err != nil {
		return err
	}
	var plan Plan
	res, err := llm.AskJSON(ctx, llm.Query{Model: model, Budget: j.budget, Limits: llm.LimitsFor(j.cfg.Limits),
		Phase: StepPlan, System: system, Prompt: prompt}, &plan)
	if err != nil {
		return fmt.Errorf("planning: %w", err)
	}
	if res.Repaired {
		j.note(ctx, "the plan needed a repair turn")
	}
	if err := plan.resolveRepos(repoNames(j.repos)); err != nil {
		return err
	}
	j.plan, j.planText = &plan, plan.Markdown()
	j.progress(ctx, "plan: %d steps, %d questions", len(plan.Steps), len(plan.Questions))
	switch {
	case len(plan.Questions) > 0:
		return j.park(ctx, plan.Questions)
	case len(plan.Steps) == 0:
		j.nothingToDo = true
		j.note(ctx, "nothing to change: %s", plan.Summary)
	default:
		j.note(ctx, "%d steps", len(plan.Steps))
	}
	return nil
}

// park asks the plan's questions on the ticket and parks the run in
// awaiting_input without holding sandboxes; intake resumes it with the
// answering comment, and the next attempt plans again with the answer.
func (j *job) park(ctx context.Context, questions []string) error {
	rounds := j.run.Questions.Round
	if rounds >= maxQuestionRounds {
		return fmt.Errorf("the plan still has open questions after %d rounds of answers: %s", rounds, strings.Join(questions, " / "))
	}
	// One questions comment per round, even when this round is asked again
	// (Redis lost the transition that parked the run).
	mark := questionsMarker(j.run.ID, rounds+1)
	questionsID, err := ensureComment(ctx, j.tracker, j.ticket, "", mark, questionsComment(mark, rounds+1, questions))
	if err != nil {
		// Questions nobody can see would park the run for good.
		return fmt.Errorf("post the plan's questions on the ticket: %w", err)
	}
	j.steps[j.current].State = stepDone
	j.steps[j.current].Took = j.p.deps.Now().Sub(j.steps[j.current].Started)
	j.note(ctx, "%d questions asked on the ticket", len(questions))
	j.progress(ctx, "waiting for answers to %d questions", len(questions))
	o := outcome{State: runs.StateAwaitingInput, Questions: questions}
	j.editStatusFinal(ctx, o)
	if err := j.tracker.SetLifecycle(ctx, j.run.Ticket, trackers.LifecycleAwaitingInput); err != nil {
		j.log.Error(err, "setting the awaiting-input label failed")
	}
	j.release(ctx)
	j.keepArtifacts(ctx, o)
	_, err = j.lease.Apply(ctx, runs.EventAwaitInput, runs.Update{
		AddUsage: j.usageDelta(), Steps: j.stepRecords(),
		// The comment is the run's own whoever the tracker says wrote it:
		// the next attempt shows it as agent-smith's questions, and it
		// never answers itself.
		QuestionsCommentID: questionsID,
		// The answer of the last round is used; the next comes with the
		// resume.
		Questions: &runs.Questions{Asked: questions, Round: rounds + 1},
	})
	if err != nil {
		return err
	}
	return errParked
}

// planJSON is the plan as plan.json holds it.
func (j *job) planJSON() string {
	if j.plan == nil {
		return ""
	}
	data, err := json.MarshalIndent(j.plan, "", "  ")
	if err != nil {
		return ""
	}
	return string(data) + "\n"
}
