package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/scrub"
)

// events takes the events of watched run steps somewhere (the sandbox
// API, ahead of the step's result); it never blocks the step: publish
// reports false when it had to drop.
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
	// scrub masks the agent's own secrets in commands' output as it is
	// captured; nil masks nothing.
	scrub *scrub.Scrubber
	// files executes the file kinds (fileStep; a test may block it).
	files func(ctx context.Context, step sandbox.Step) (sandbox.StepResult, error)
	// stuck is closed when the file step that last overran its deadline
	// returns; nil when none is outstanding.
	stuck chan struct{}
}

func newExecutor(ws *workspace, ev events) *executor {
	rg, _ := exec.LookPath("rg")
	x := &executor{ws: ws, events: ev, rg: rg, outputCap: defaultOutputCap, killGrace: defaultKillGrace}
	x.files = x.fileStep
	return x
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
		res, err = x.boundedFileStep(ctx, step)
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

// boundedFileStep runs a file step within its timeout and its caller's
// patience. The walking kinds stop at ctx; a read or write blocked in the
// kernel (a network filesystem, a file swapped for a FIFO) cannot be
// interrupted, so the step is left behind in its goroutine and answered
// as timed out or cancelled. Until it returns, file steps are refused at
// once rather than piled up behind it.
func (x *executor) boundedFileStep(ctx context.Context, step sandbox.Step) (sandbox.StepResult, error) {
	if x.stuck != nil {
		select {
		case <-x.stuck:
			x.stuck = nil
		default:
			return sandbox.StepResult{}, errors.New("a previous file step is still blocked; run a command to see why")
		}
	}
	tctx, cancel := context.WithTimeout(ctx, step.Timeout())
	defer cancel()
	type outcome struct {
		res sandbox.StepResult
		err error
	}
	done := make(chan outcome, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		res, err := x.files(tctx, step)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		switch {
		case ctx.Err() != nil:
			return sandbox.StepResult{Cancelled: true}, fmt.Errorf("%s was cancelled", step.Kind)
		case tctx.Err() != nil:
			return sandbox.StepResult{TimedOut: true}, fmt.Errorf("%s timed out after %s", step.Kind, step.Timeout())
		}
		return o.res, o.err
	case <-tctx.Done():
		x.stuck = returned
		if ctx.Err() != nil {
			return sandbox.StepResult{Cancelled: true}, fmt.Errorf("%s was cancelled", step.Kind)
		}
		return sandbox.StepResult{TimedOut: true}, fmt.Errorf("%s timed out after %s", step.Kind, step.Timeout())
	}
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
