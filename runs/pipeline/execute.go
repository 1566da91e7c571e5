package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/tools"
	"github.com/agent-smith/agent-smith/skills"
)

// tools returns the model's tools over the run's sandboxes, with every
// configured secret cut from their results.
func (j *job) tools() (*tools.Toolset, error) {
	if j.toolset != nil {
		return j.toolset, nil
	}
	opts := tools.OptionsFor(j.cfg.Limits)
	opts.Secrets = j.secrets
	ts, err := tools.New(j.sandboxes, opts)
	if err != nil {
		return nil, err
	}
	j.toolset = ts
	return ts, nil
}

// loop runs a tool loop of the execution model with all tools: a new task
// rendered from role, or, with history, a continuation of it.
func (j *job) loop(ctx context.Context, phase string, role skills.Role, in skills.Input, history []llm.Message) (llm.LoopResult, error) {
	model, err := j.model(ctx, llm.SlotExecution)
	if err != nil {
		return llm.LoopResult{}, err
	}
	ts, err := j.tools()
	if err != nil {
		return llm.LoopResult{}, err
	}
	system, err := j.system(in)
	if err != nil {
		return llm.LoopResult{}, err
	}
	prompt, err := j.catalog.Render(role, in)
	if err != nil {
		return llm.LoopResult{}, err
	}
	l := llm.Loop{Model: model, Tools: ts.Full(), Limits: llm.LimitsFor(j.cfg.Limits), Budget: j.budget}
	res, err := l.Run(ctx, llm.LoopRequest{Phase: phase, System: system, Prompt: prompt, History: history})
	if err != nil {
		return res, fmt.Errorf("%s: %w", phase, err)
	}
	j.decisions = append(j.decisions, res.Decisions...)
	j.progress(ctx, "%s: %d model calls, %d tool calls, ended: %s", phase, res.ModelCalls, len(res.ToolCalls), res.StopDetail)
	if res.Stop.LimitHit() {
		return res, fmt.Errorf("%s: the model's tool loop stopped before it was done: %s", phase, res.StopDetail)
	}
	return res, nil
}

// execute is the tool loop that implements the plan.
func (j *job) execute(ctx context.Context) error {
	j.conversation = j.newFrames()
	res, err := j.loop(ctx, StepExecute, skills.Implementer, j.inputWith(j.conversation), nil)
	j.history = res.Messages
	if err != nil {
		return err
	}
	j.summary = loopSummary(res)
	changed, err := j.changedRepos(ctx)
	if err != nil {
		return err
	}
	if len(changed) == 0 {
		return fmt.Errorf("the model ended without changing any repository: %s", oneLine(j.summary))
	}
	j.note(ctx, "changed %s", strings.Join(changed, ", "))
	return nil
}

// fixup sends the execution loop back to its conversation with feedback:
// failing tests or blocking review findings. The ticket's text is framed
// as in the conversation's first prompt.
func (j *job) fixup(ctx context.Context, feedback string) error {
	in := j.inputWith(j.conversation)
	in.Feedback = feedback
	res, err := j.loop(ctx, StepExecute+"/fixup", skills.Fixup, in, j.history)
	j.history = res.Messages
	if err != nil {
		return err
	}
	if s := loopSummary(res); s != "" {
		j.summary = s
	}
	return nil
}

// writeTests has the model add tests for the new feature.
func (j *job) writeTests(ctx context.Context) error {
	res, err := j.loop(ctx, StepWriteTests, skills.Tester, j.input(), nil)
	if err != nil {
		return err
	}
	j.note(ctx, "%s", oneLine(loopSummary(res)))
	return nil
}

// writeDocs has the model update the documentation of the new feature.
func (j *job) writeDocs(ctx context.Context) error {
	res, err := j.loop(ctx, StepWriteDocs, skills.Documenter, j.input(), nil)
	if err != nil {
		return err
	}
	j.note(ctx, "%s", oneLine(loopSummary(res)))
	return nil
}

// bootstrap has the model write the .agentsmith/ files of every repository
// and checks they are there.
func (j *job) bootstrap(ctx context.Context) error {
	res, err := j.loop(ctx, StepBootstrap, skills.Bootstrap, j.input(), nil)
	if err != nil {
		return err
	}
	j.summary = loopSummary(res)
	return j.eachRepo(ctx, func(ctx context.Context, r *repo) error {
		var missing []string
		for _, p := range j.bootstrapFiles() {
			if _, ok, err := j.readOptional(ctx, r, p, 1); err != nil {
				return err
			} else if !ok {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s: the model did not write %s", r.name, strings.Join(missing, " and "))
		}
		return nil
	})
}

// bootstrapFiles are what init-project writes and commits.
func (j *job) bootstrapFiles() []string {
	return []string{".agentsmith/context.yaml", j.project.CodingPrinciplesPath}
}

// changedRepos lists the repositories whose work tree or branch differs
// from the checkout.
func (j *job) changedRepos(ctx context.Context) ([]string, error) {
	changed := make([]bool, len(j.repos))
	err := j.eachRepo(ctx, func(ctx context.Context, r *repo) error {
		dirty, err := j.dirty(ctx, r)
		changed[indexOf(j.repos, r)] = dirty
		return err
	})
	var out []string
	for i, c := range changed {
		if c {
			out = append(out, j.repos[i].name)
		}
	}
	return out, err
}

// dirty reports whether r has uncommitted changes or commits since the
// checkout (a model may commit by itself).
func (j *job) dirty(ctx context.Context, r *repo) (bool, error) {
	status, err := j.must(ctx, r, gitStep(gitLocalTimeout, "status", "--porcelain", "--untracked-files=all"))
	if err != nil || strings.TrimSpace(status) != "" {
		return err == nil, err
	}
	head, err := j.must(ctx, r, gitStep(gitLocalTimeout, "rev-parse", "HEAD"))
	return strings.TrimSpace(head) != r.startSHA, err
}

// loopSummary is what the model said it did.
func loopSummary(res llm.LoopResult) string {
	if res.Summary != "" {
		return strings.TrimSpace(res.Summary)
	}
	return strings.TrimSpace(res.FinalText)
}

// oneLine is the first line of s, cut short.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
