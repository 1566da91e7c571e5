// Package agenttest runs the sandbox agent of the real agent-smith binary
// (built by testenv.AgentBinary) as a child process, for the tests of the
// sandbox packages.
//
// Test support: no production package may import it (depguard).
package agenttest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Agent is a running `agent-smith sandbox-agent`.
type Agent struct {
	Cmd     *exec.Cmd
	WorkDir string
	exited  chan struct{}
	mu      sync.Mutex
	output  bytes.Buffer
}

// Start runs the agent of job against redisURL in a fresh work directory,
// with extra flags; the test's end kills it.
func Start(t testing.TB, bin, redisURL, job string, flags ...string) *Agent {
	t.Helper()
	return StartWrapped(t, nil, bin, redisURL, job, flags...)
}

// StartWrapped is Start with the agent's command line prefixed by wrapper
// (e.g. unshare to make it PID 1 of a new PID namespace).
func StartWrapped(t testing.TB, wrapper []string, bin, redisURL, job string, flags ...string) *Agent {
	t.Helper()
	a := &Agent{WorkDir: t.TempDir(), exited: make(chan struct{})}
	argv := append(append(append([]string(nil), wrapper...), bin, "sandbox-agent", "--job-id", job, "--work-root", a.WorkDir), flags...)
	a.Cmd = exec.Command(argv[0], argv[1:]...)
	a.Cmd.Env = append(os.Environ(), "REDIS_URL="+redisURL)
	a.Cmd.Stdout, a.Cmd.Stderr = a, a
	a.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := a.Cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	go func() { _ = a.Cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-a.Cmd.Process.Pid, syscall.SIGKILL)
		<-a.exited
		if strings.Contains(a.Output(), "WARNING: DATA RACE") {
			t.Errorf("the agent had a data race")
		}
		if t.Failed() {
			t.Logf("agent %s output:\n%s", job, a.Output())
		}
	})
	return a
}

func (a *Agent) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.output.Write(p)
}

// Output is what the agent logged so far.
func (a *Agent) Output() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.output.String()
}

// Exited is closed when the process has ended.
func (a *Agent) Exited() <-chan struct{} { return a.exited }

// ExitCode is the exit status once Exited is closed.
func (a *Agent) ExitCode() int { return a.Cmd.ProcessState.ExitCode() }
