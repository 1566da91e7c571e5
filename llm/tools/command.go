package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/sandbox"
)

type runCommand struct{ t *Toolset }

func (r runCommand) Def() llm.ToolDef {
	desc := fmt.Sprintf("Run a shell command (/bin/sh -c) in the repository root and return its exit code and output. "+
		"Default timeout %s, at most %s. Use it to build, run tests and inspect; destructive commands (recursive deletes "+
		"outside the repository, disk tools, git push) are refused.", r.t.opts.CommandTimeout, r.t.opts.MaxCommandTimeout)
	props := []prop{
		str("command", "The command line."),
		integer("timeout_seconds", "Timeout for this command."),
	}
	required := []string{"command"}
	if r.t.multi() {
		props = append(props, enum("repo", "The repository to run in.", r.t.names...))
		required = append(required, "repo")
	}
	return llm.ToolDef{Name: "run_command", Description: desc, Parameters: schema(required, props...)}
}

func (r runCommand) Call(ctx context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Command        string `json:"command"`
		Repo           string `json:"repo"`
		TimeoutSeconds int    `json:"timeout_seconds"`
	}
	if err := llm.DecodeArgs(args, &a); err != nil {
		return "", err
	}
	if strings.TrimSpace(a.Command) == "" {
		return "", errors.New("command is required")
	}
	if err := CheckCommand(a.Command); err != nil {
		return "", err
	}
	tg, err := r.t.repo(a.Repo)
	if err != nil {
		return "", err
	}
	timeout := r.t.opts.CommandTimeout
	if a.TimeoutSeconds > 0 {
		timeout = min(time.Duration(a.TimeoutSeconds)*time.Second, r.t.opts.MaxCommandTimeout)
	}
	res, err := tg.sb.Run(ctx, sandbox.Step{Kind: sandbox.KindRun, Command: "/bin/sh", Args: []string{"-c", a.Command},
		TimeoutSeconds: int(timeout / time.Second)}, nil)
	if err != nil {
		return "", sandboxErr(err)
	}
	out := r.format(res, timeout)
	if res.ErrorMessage != "" && !res.TimedOut {
		// The command could not start at all.
		return "", errors.New(res.ErrorMessage)
	}
	if res.TimedOut {
		return "", errors.New(out)
	}
	return out, nil
}

// format writes a run result for the model: the exit status, then stdout
// and stderr, cut to the output cap together.
func (r runCommand) format(res sandbox.StepResult, timeout time.Duration) string {
	var b strings.Builder
	switch {
	case res.TimedOut:
		fmt.Fprintf(&b, "timed out after %s and was killed; output so far:\n", timeout)
	default:
		fmt.Fprintf(&b, "exit code %d\n", res.ExitCode)
	}
	stdout, stderr := res.Stdout, res.Stderr
	if limit := r.t.opts.OutputBytes; limit > 0 && len(stdout)+len(stderr) > limit {
		// Each stream gets at least half the cap (or what it needs), so
		// that a chatty stdout does not crowd out the error on stderr.
		errCap := min(len(stderr), max(limit/2, limit-len(stdout)))
		stdout = cutMiddle(stdout, limit-errCap)
		stderr = cutMiddle(stderr, errCap)
	}
	if stdout != "" {
		b.WriteString("--- stdout ---\n" + stdout)
		if !strings.HasSuffix(stdout, "\n") {
			b.WriteByte('\n')
		}
	}
	if stderr != "" {
		b.WriteString("--- stderr ---\n" + stderr)
		if !strings.HasSuffix(stderr, "\n") {
			b.WriteByte('\n')
		}
	}
	if stdout == "" && stderr == "" {
		b.WriteString("(no output)\n")
	}
	return b.String()
}

// cutMiddle keeps about the first and last n/2 bytes of s, cut on rune
// boundaries.
func cutMiddle(s string, n int) string {
	if len(s) <= n {
		return s
	}
	head, tail := n/2, len(s)-n/2
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	return s[:head] + fmt.Sprintf("\n[… %d bytes omitted by the output cap …]\n", tail-head) + s[tail:]
}
