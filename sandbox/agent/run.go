package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/agent-smith/agent-smith/sandbox"
)

const (
	defaultKillGrace = 2 * time.Second
	// pipeGrace is how long output is still read after the command
	// exited, for background children that inherited its stdout; then the
	// pipes are closed and the step ends.
	pipeGrace = time.Second
)

// run executes a command in its own process group. On timeout or
// cancellation the whole group gets SIGTERM, then SIGKILL after killGrace
// (or as soon as the command itself is gone). Background processes of a
// command that exits by itself are left running: a step may start a server
// for the next one.
func (x *executor) run(ctx context.Context, step sandbox.Step) (sandbox.StepResult, error) {
	res := sandbox.StepResult{OutputCapBytes: int64(x.outputCap)}
	dir, err := x.ws.dirPath(step.WorkingDirectory)
	if err != nil {
		return res, fmt.Errorf("working directory: %w", err)
	}
	env := mergeEnv(stepEnv(), step.Env)
	path, err := lookPath(step.Command, env, dir)
	if err != nil {
		return res, err
	}

	// Events only for a caller that watches them.
	var batch *batcher
	if step.Stream {
		batch = startBatcher(step.StepID, x.events)
	}
	stdout := &sink{kind: sandbox.EventStdout, capture: newCapture(x.outputCap), batch: batch}
	stderr := &sink{kind: sandbox.EventStderr, capture: newCapture(x.outputCap), batch: batch}
	outW, errW := x.scrub.Writer(stdout), x.scrub.Writer(stderr)
	cmd := &exec.Cmd{
		Path: path, Args: append([]string{step.Command}, step.Args...), Dir: dir, Env: env,
		Stdout: outW, Stderr: errW, WaitDelay: pipeGrace,
		// Pdeathsig: a command does not outlive an agent killed abruptly.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	if batch != nil {
		x.events.publish(sandbox.StepEvent{SchemaVersion: sandbox.SchemaVersion, StepID: step.StepID, Kind: sandbox.EventStarted,
			Lines: []string{x.scrub.String(strings.Join(cmd.Args, " "))}, Timestamp: time.Now().UTC()})
	}

	var timedOut, cancelled bool
	var waitErr error
	if err := cmd.Start(); err != nil {
		waitErr = fmt.Errorf("start %s: %w", step.Command, err)
	} else {
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		timer := time.NewTimer(step.Timeout())
		select {
		case waitErr = <-waited:
		case <-timer.C:
			timedOut = true
			waitErr = x.killGroup(cmd.Process.Pid, waited)
		case <-ctx.Done():
			cancelled = true
			waitErr = x.killGroup(cmd.Process.Pid, waited)
		}
		timer.Stop()
	}
	_, _ = outW.Flush(), errW.Flush() // into memory: cannot fail
	stdout.finish()
	stderr.finish()
	var dropped int64
	if batch != nil {
		dropped = batch.close()
	}

	res.Stdout, res.StdoutBytes = stdout.capture.String(), stdout.capture.total
	res.Stderr, res.StderrBytes = stderr.capture.String(), stderr.capture.total
	res.Truncated = stdout.capture.truncated() || stderr.capture.truncated()
	res.TimedOut, res.Cancelled = timedOut, cancelled
	res.ExitCode = exitCode(cmd.ProcessState)
	switch {
	case timedOut:
		res.ExitCode = -1
		err = fmt.Errorf("%s timed out after %s; its process group was killed", step.Command, step.Timeout())
	case cancelled:
		res.ExitCode = -1
		err = fmt.Errorf("%s was cancelled; its process group was killed", step.Command)
	case cmd.ProcessState == nil:
		err = waitErr
	}
	if batch != nil {
		x.events.publish(sandbox.StepEvent{SchemaVersion: sandbox.SchemaVersion, StepID: step.StepID, Kind: sandbox.EventCompleted,
			ExitCode: res.ExitCode, TimedOut: timedOut, DroppedLines: dropped, Timestamp: time.Now().UTC()})
	}
	return res, err
}

// killGroup ends the process group of a command that overstayed, and
// returns what Wait said.
func (x *executor) killGroup(pgid int, waited <-chan error) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	grace := time.NewTimer(x.killGrace)
	defer grace.Stop()
	var err error
	exited := false
	select {
	case err = <-waited:
		exited = true
	case <-grace.C:
	}
	// Children may ignore SIGTERM or outlive the leader: the group goes.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if !exited {
		err = <-waited
	}
	return err
}

// exitCode is the command's exit status; a signal death counts as 128+n,
// as in a shell.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// ownEnv are the agent's own settings (see `agent-smith sandbox-agent`),
// kept from commands: a step has no business with the sandbox API, and
// none with the agent's token.
var ownEnv = map[string]bool{"SANDBOX_TOKEN": true, "SANDBOX_API_URL": true, "SANDBOX_API_CA": true, "JOB_ID": true}

// stepEnv is the agent's environment without its own settings.
func stepEnv() []string {
	env := os.Environ()
	kept := env[:0:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !ownEnv[k] {
			kept = append(kept, kv)
		}
	}
	return kept
}

// mergeEnv lays the step's variables over the agent's environment.
func mergeEnv(base []string, over map[string]string) []string {
	if len(over) == 0 {
		return base
	}
	env := make([]string, 0, len(base)+len(over))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := over[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range over {
		env = append(env, k+"="+v)
	}
	return env
}

// lookPath finds a command like a shell would, but with the step's PATH
// (which may add e.g. node_modules/.bin) and relative to its directory.
func lookPath(name string, env []string, dir string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return name, nil
	}
	var pathVar string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	for _, d := range filepath.SplitList(pathVar) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("command " + name + " not found in PATH")
}
