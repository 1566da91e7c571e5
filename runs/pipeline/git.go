package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/agent-smith/agent-smith/sandbox"
)

// gitLocalTimeout is the timeout of the sandbox's git steps, in seconds:
// none of them talks to the remote (the gate does).
const gitLocalTimeout = 60

// gitEnv keeps git from prompting (a missing credential fails instead of
// hanging the step) and its messages parseable.
var gitEnv = map[string]string{"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}

// gitStep is a git command as a sandbox step: argv, no shell.
func gitStep(timeout int, args ...string) sandbox.Step {
	return sandbox.Step{Kind: sandbox.KindRun, Command: "git", Args: args, Env: gitEnv, TimeoutSeconds: timeout}
}

// commandError is a command that ran and failed.
type commandError struct {
	Command string
	Exit    int
	Output  string
}

func (e *commandError) Error() string {
	if e.Exit == -1 {
		return fmt.Sprintf("`%s` did not finish: %s", e.Command, e.Output)
	}
	return fmt.Sprintf("`%s` exited with %d: %s", e.Command, e.Exit, e.Output)
}

// exec runs step in r's sandbox. The error is set when the sandbox did not
// answer or refused the step; a command's exit code is in the result.
func (j *job) exec(ctx context.Context, r *repo, step sandbox.Step) (sandbox.StepResult, error) {
	res, err := r.sb.Run(ctx, step, nil)
	if err != nil {
		return res, fmt.Errorf("%s: `%s`: %w", r.name, step.CommandLine(), err)
	}
	if res.ErrorMessage != "" && !res.TimedOut {
		return res, fmt.Errorf("%s: `%s`: %s", r.name, step.CommandLine(), res.ErrorMessage)
	}
	return res, nil
}

// must runs step and returns its stdout; a non-zero exit or a timeout is a
// *commandError carrying the end of the output.
func (j *job) must(ctx context.Context, r *repo, step sandbox.Step) (string, error) {
	res, err := j.exec(ctx, r, step)
	if err != nil {
		return "", err
	}
	if res.TimedOut {
		return "", fmt.Errorf("%s: %w", r.name, &commandError{Command: step.CommandLine(), Exit: -1, Output: "timed out after " + fmt.Sprint(step.TimeoutSeconds) + "s"})
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("%s: %w", r.name, &commandError{Command: step.CommandLine(), Exit: res.ExitCode, Output: tail(res.Stderr+res.Stdout, 2000)})
	}
	return res.Stdout, nil
}

// tail keeps the last n bytes of s, on a line start where it can.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := s[len(s)-n:]
	if i := strings.IndexByte(cut, '\n'); i >= 0 && i < len(cut)-1 {
		cut = cut[i+1:]
	}
	return "…\n" + cut
}

// head keeps the first n bytes of s, saying so when it cut.
func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	if i := strings.LastIndexByte(cut, '\n'); i > n/2 {
		cut = cut[:i]
	}
	return cut + "\n[… cut at " + fmt.Sprint(n) + " bytes]"
}

// eachRepo runs fn for every repository of the run at once and joins the
// failures.
func (j *job) eachRepo(ctx context.Context, fn func(ctx context.Context, r *repo) error) error {
	errs := make([]error, len(j.repos))
	var wg sync.WaitGroup
	for i, r := range j.repos {
		wg.Go(func() { errs[i] = fn(ctx, r) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
