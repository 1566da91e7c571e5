package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"time"

	"github.com/agent-smith/agent-smith/sandbox"
)

// events takes the events of run steps somewhere (the Redis stream, ahead
// of the step's result); it never blocks the step: publish reports false
// when it had to drop.
type events interface {
	publish(ev sandbox.StepEvent) bool
}

// executor executes steps against a work root. It is not safe for
// concurrent use: the agent runs one step at a time.
type executor struct {
	ws        *workspace
	events    events
	rg        string        // path of rg; empty selects the Go grep engine
	outputCap int           // per stream of a run step
	killGrace time.Duration // between SIGTERM and SIGKILL of a process group
}

func newExecutor(ws *workspace, ev events) *executor {
	rg, _ := exec.LookPath("rg")
	return &executor{ws: ws, events: ev, rg: rg, outputCap: defaultOutputCap, killGrace: defaultKillGrace}
}

// execute runs one validated step within its timeout. It always returns a
// result: what went wrong is in ErrorMessage.
func (x *executor) execute(ctx context.Context, step sandbox.Step) sandbox.StepResult {
	began := time.Now()
	var res sandbox.StepResult
	var err error
	if step.Kind == sandbox.KindRun {
		// run enforces its timeout itself, on the whole process group.
		res, err = x.run(ctx, step)
	} else {
		tctx, cancel := context.WithTimeout(ctx, step.Timeout())
		res, err = x.fileStep(tctx, step)
		if tctx.Err() == context.DeadlineExceeded {
			res.TimedOut = true
			err = fmt.Errorf("%s timed out after %s", step.Kind, step.Timeout())
		}
		cancel()
	}
	res.SchemaVersion = sandbox.SchemaVersion
	res.StepID = step.StepID
	res.DurationSeconds = time.Since(began).Seconds()
	if err != nil {
		res.ErrorMessage = err.Error()
		res.ExitCode = -1
	}
	return res
}

func (x *executor) fileStep(ctx context.Context, step sandbox.Step) (sandbox.StepResult, error) {
	switch step.Kind {
	case sandbox.KindReadFile:
		return x.readFile(step)
	case sandbox.KindWriteFile:
		return x.writeFile(step)
	case sandbox.KindEditFile:
		return x.editFile(step)
	case sandbox.KindListFiles:
		return x.listFiles(ctx, step)
	case sandbox.KindGrep:
		return x.grep(ctx, step)
	case sandbox.KindDirectoryTree:
		return x.directoryTree(ctx, step)
	default:
		return sandbox.StepResult{}, fmt.Errorf("step kind %q is not executed here", step.Kind)
	}
}

// jsonResult carries a payload as the result's OutputContent.
func jsonResult(payload any, truncated bool) (sandbox.StepResult, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return sandbox.StepResult{}, fmt.Errorf("encode result: %w", err)
	}
	return sandbox.StepResult{OutputContent: string(data), Truncated: truncated}, nil
}
