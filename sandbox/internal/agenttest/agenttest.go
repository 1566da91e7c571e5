// Package agenttest runs the sandbox agent and the git gate of the real
// agent-smith binary (built by testenv.AgentBinary) as child processes,
// for the tests of the sandbox packages.
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

// Agent is a running `agent-smith sandbox-agent` (or `sandbox-gate`).
type Agent struct {
	Cmd     *exec.Cmd
	WorkDir string
	exited  chan struct{}
	mu      sync.Mutex
	output  bytes.Buffer
}

// API is how the agent reaches the sandbox API: its URL, the certificate
// to pin (nil for plain http on loopback) and the job's agent token.
type API struct {
	URL     string
	CertPEM []byte
	Token   string
}

// Start runs the agent of job against api in a fresh work directory,
// with extra flags; the test's end kills it.
func Start(t testing.TB, bin string, api API, job string, flags ...string) *Agent {
	t.Helper()
	return StartWrapped(t, nil, bin, api, job, flags...)
}

// StartWrapped is Start with the agent's command line prefixed by wrapper
// (e.g. unshare to make it PID 1 of a new PID namespace).
func StartWrapped(t testing.TB, wrapper []string, bin string, api API, job string, flags ...string) *Agent {
	t.Helper()
	a := &Agent{WorkDir: t.TempDir(), exited: make(chan struct{})}
	argv := append(append(append([]string(nil), wrapper...), bin, "sandbox-agent", "--job-id", job, "--work-root", a.WorkDir), flags...)
	a.Cmd = exec.Command(argv[0], argv[1:]...)
	a.Cmd.Env = append(os.Environ(), "SANDBOX_API_URL="+api.URL, "SANDBOX_API_CA="+string(api.CertPEM), "SANDBOX_TOKEN="+api.Token)
	a.start(t, job)
	return a
}

// start starts the prepared command and has the test's end kill it.
func (a *Agent) start(t testing.TB, job string) {
	t.Helper()
	a.Cmd.Stdout, a.Cmd.Stderr = a, a
	a.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := a.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", a.Cmd.Args[1], err)
	}
	go func() { _ = a.Cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-a.Cmd.Process.Pid, syscall.SIGKILL)
		<-a.exited
		if strings.Contains(a.Output(), "WARNING: DATA RACE") {
			t.Errorf("the agent had a data race")
		}
		if t.Failed() {
			t.Logf("%s %s output:\n%s", a.Cmd.Args[1], job, a.Output())
		}
	})
}

// StartGate runs the git gate of job against api (its token the gate's),
// for remote and the run's branch, with a git directory and a work root of
// its own; the test's end kills it.
func StartGate(t testing.TB, bin string, api API, job, remote, branch string) *Agent {
	t.Helper()
	a := &Agent{WorkDir: t.TempDir(), exited: make(chan struct{})}
	a.Cmd = exec.Command(bin, "sandbox-gate", "--job-id", job, "--remote", remote, "--branch", branch,
		"--git-dir", t.TempDir(), "--work-root", a.WorkDir)
	a.Cmd.Env = append(os.Environ(), "SANDBOX_API_URL="+api.URL, "SANDBOX_API_CA="+string(api.CertPEM), "SANDBOX_TOKEN="+api.Token)
	a.start(t, job)
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
