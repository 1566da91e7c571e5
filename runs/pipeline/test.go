package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/agent-smith/agent-smith/sandbox"
)

// failureOutputCap is how much of a failing test run the model and the
// ticket see: the end, where test runners print their verdict.
const failureOutputCap = 6 << 10

// testFailure is one repository whose tests failed.
type testFailure struct {
	repo, command string
	exit          int
	timedOut      bool
	output        string
}

func (f testFailure) String() string {
	verdict := fmt.Sprintf("exited with %d", f.exit)
	if f.timedOut {
		verdict = "timed out"
	}
	return fmt.Sprintf("%s: `%s` %s", f.repo, f.command, verdict)
}

// test runs every repository's tests; a failure goes back to execute
// once with the failing output, then the tests run again.
func (j *job) test(ctx context.Context) error {
	failures, err := j.runTests(ctx)
	if err != nil || len(failures) == 0 {
		return err
	}
	j.note(ctx, "tests failed (%s); sending the model back once", summarize(failures))
	if err := j.fixup(ctx, testFeedback(failures)); err != nil {
		return err
	}
	if failures, err = j.runTests(ctx); err != nil || len(failures) == 0 {
		if err == nil {
			j.note(ctx, "tests pass after the fix")
		}
		return err
	}
	return fmt.Errorf("tests still fail after one fix: %s\n%s", summarize(failures), tail(failures[0].output, 1500))
}

// runTests runs each repository's test command at once; a repository
// without one passes with a note.
func (j *job) runTests(ctx context.Context) ([]testFailure, error) {
	results := make([]*testFailure, len(j.repos))
	err := j.eachRepo(ctx, func(ctx context.Context, r *repo) error {
		if r.testCommand == "" {
			j.progress(ctx, "%s: no test command (set repos.%s.test_command to run tests)", r.name, r.name)
			return nil
		}
		step := sandbox.Step{Kind: sandbox.KindRun, Command: "/bin/sh", Args: []string{"-c", r.testCommand},
			TimeoutSeconds: j.cfg.Sandbox.StepTimeoutSeconds}
		res, err := j.exec(ctx, r, step)
		if err != nil {
			return err
		}
		j.recordCommand(ctx, r.name, step, res)
		if res.ExitCode == 0 && !res.TimedOut {
			j.progress(ctx, "%s: `%s` passed in %.1fs", r.name, r.testCommand, res.DurationSeconds)
			return nil
		}
		results[indexOf(j.repos, r)] = &testFailure{repo: r.name, command: r.testCommand, exit: res.ExitCode,
			timedOut: res.TimedOut, output: tail(res.Stdout+"\n"+res.Stderr, failureOutputCap)}
		return nil
	})
	var out []testFailure
	for _, f := range results {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out, err
}

func summarize(failures []testFailure) string {
	parts := make([]string, len(failures))
	for i, f := range failures {
		parts[i] = f.String()
	}
	return strings.Join(parts, "; ")
}

// testFeedback tells the model which tests fail and how.
func testFeedback(failures []testFailure) string {
	var b strings.Builder
	b.WriteString("The tests fail.\n")
	for _, f := range failures {
		fmt.Fprintf(&b, "\n%s. The end of its output:\n\n```text\n%s\n```\n", f, f.output)
	}
	return b.String()
}
