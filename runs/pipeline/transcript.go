package pipeline

import (
	"context"
	"strings"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox"
)

// trace records the run's model and tool calls in its transcript.
func (j *job) trace() *llm.Trace {
	return &llm.Trace{
		ModelCall: func(ctx context.Context, c llm.ModelCallInfo) {
			m := &runs.ModelCall{Phase: c.Phase, Model: c.Model, InputTokens: int64(c.Usage.InputTokens),
				OutputTokens: int64(c.Usage.OutputTokens), CostUSD: c.CostUSD, Latency: runs.Duration(c.Duration)}
			if c.Err != nil {
				m.Error = c.Err.Error()
			}
			// A call that ended with its loop's deadline is still told.
			j.record(context.WithoutCancel(ctx), runs.Entry{Kind: runs.KindModel, Model: m})
		},
		ToolCall: func(ctx context.Context, t llm.ToolCallRecord) {
			outcome := "ok"
			if t.Error != "" {
				outcome = "error: " + t.Error
			}
			j.record(context.WithoutCancel(ctx), runs.Entry{Kind: runs.KindTool, Tool: &runs.ToolCall{Name: t.Name,
				Arguments: string(t.Arguments), Outcome: outcome, Duration: runs.Duration(t.Duration)}})
		},
	}
}

// recordingSandbox is a repository's sandbox as the model's tools use it:
// the commands they run go to the run's transcript.
type recordingSandbox struct {
	sandbox.Sandbox
	j    *job
	repo string
}

func (r recordingSandbox) Run(ctx context.Context, step sandbox.Step, onEvent func(sandbox.StepEvent)) (sandbox.StepResult, error) {
	res, err := r.Sandbox.Run(ctx, step, onEvent)
	if err == nil {
		r.j.recordCommand(ctx, r.repo, step, res)
	}
	return res, err
}

// recordCommand records a run step of repo's sandbox that was answered:
// its command, exit code, duration and the tail of its output.
func (j *job) recordCommand(ctx context.Context, repo string, step sandbox.Step, res sandbox.StepResult) {
	if step.Kind != sandbox.KindRun {
		return
	}
	c := &runs.Command{Repo: repo, Command: step.CommandLine(), ExitCode: res.ExitCode,
		Duration: runs.Duration(res.Duration()), Output: output(res)}
	e := runs.Entry{Kind: runs.KindCommand, Command: c}
	switch {
	case res.TimedOut:
		e.Message = "timed out"
	case res.Cancelled:
		e.Message = "cancelled"
	case res.ErrorMessage != "":
		e.Message = res.ErrorMessage
	}
	j.record(context.WithoutCancel(ctx), e)
}

// output is a command's stdout followed by its stderr: the transcript
// keeps the tail, where a failing build or test says what failed.
func output(res sandbox.StepResult) string {
	out, errs := strings.TrimRight(res.Stdout, "\n"), strings.TrimRight(res.Stderr, "\n")
	switch {
	case errs == "":
		return out
	case out == "":
		return errs
	}
	return out + "\n" + errs
}

// scrubEntry removes the configuration's secret values from the free text
// of e; the store then redacts what looks like a credential and bounds it.
func (j *job) scrubEntry(e runs.Entry) runs.Entry {
	e.Message = j.scrub(e.Message)
	switch {
	case e.Model != nil:
		m := *e.Model
		m.Error = j.scrub(m.Error)
		e.Model = &m
	case e.Tool != nil:
		t := *e.Tool
		t.Arguments, t.Outcome = j.scrub(t.Arguments), j.scrub(t.Outcome)
		e.Tool = &t
	case e.Command != nil:
		c := *e.Command
		c.Command, c.Output = j.scrub(c.Command), j.scrub(c.Output)
		e.Command = &c
	}
	return e
}
