// Package local is the sandbox backend without a cluster (SANDBOX_TYPE=local):
// every (run, repo) gets `agent-smith sandbox-agent` as a child process in
// a fresh temporary work directory, reached through a sandbox API of its
// own on loopback, and a git gate (package gate) in this process. It is
// what `make run`, the CLI and the demo use.
//
// What it isolates: a step's environment holds no credential (the agent's
// token comes over a socket once the agent is non-dumpable, the git token
// stays in the gate), and a job reaches only its own steps. What it does
// not: steps run under the orchestrator's uid, so one that ptraces a git
// push in flight, or writes into the gate's directory, gets around the
// gate. It is for repositories you trust.
//
// Of agent-smith it imports sandbox and its packages gate and gateway.
package local

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/gate"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
)

// passEnv are the variables of the orchestrator's environment an agent
// inherits: enough for toolchains to find themselves, none of the
// orchestrator's secrets.
var passEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"}

// Options configure the provisioner.
type Options struct {
	// Executable is the agent-smith binary: the agents, and the gates'
	// credential helper; default this process's own.
	Executable string
	// Dir holds the work directories; default the system's temporary one.
	Dir string
	// Env is added to what agents inherit (see passEnv).
	Env []string
	// IdleTimeout ends an agent nobody talks to (an orchestrator that
	// died without releasing). Default 15m.
	IdleTimeout time.Duration
	// ReadyTimeout bounds the wait for an agent's first poll. Default 30s.
	ReadyTimeout time.Duration
	// ShutdownGrace is how long Release waits for an agent to exit after
	// the shutdown step, before signals. Default 10s.
	ShutdownGrace time.Duration
	// KeepFailed keeps the work directories of a failed run
	// (ReleaseFailed) that long for inspection
	// (sandbox.keep_failed_pods_minutes); 0 removes them at once. A kept
	// directory outlives Close: a CLI run that failed leaves it to look at.
	KeepFailed time.Duration
	// Gateway tunes the sandbox API the agents poll.
	Gateway gateway.Options
	Log     logr.Logger
}

// Provisioner implements sandbox.Provisioner with local processes. Close
// it when done.
type Provisioner struct {
	opts     Options
	gw       *gateway.Gateway
	url      string
	shutdown context.CancelFunc
	serve    chan error

	mu   sync.Mutex
	runs map[string][]*instance
	// kept are the timers that remove kept work directories.
	kept map[*time.Timer]bool
}

var (
	_ sandbox.Provisioner    = (*Provisioner)(nil)
	_ sandbox.FailedReleaser = (*Provisioner)(nil)
)

// instance is one running agent and its gate.
type instance struct {
	repo   string
	dir    string // holds work/ and gate/
	cmd    *exec.Cmd
	exited chan struct{}
	job    *gateway.Job
	output *tailWriter
}

// New checks opts and serves the agents' sandbox API on loopback.
func New(opts Options) (*Provisioner, error) {
	if opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable for local sandboxes: %w", err)
		}
		opts.Executable = exe
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 15 * time.Minute
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 10 * time.Second
	}
	opts.Gateway.TLS = false // loopback
	opts.Gateway.Log = opts.Log
	gw, err := gateway.New(opts.Gateway)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sandbox API for local sandboxes: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	p := &Provisioner{opts: opts, gw: gw, url: "http://" + l.Addr().String(), shutdown: stop, serve: make(chan error, 1),
		runs: map[string][]*instance{}, kept: map[*time.Timer]bool{}}
	go func() { p.serve <- gw.Serve(ctx, l) }()
	return p, nil
}

// Close stops the sandbox API. Release the runs first. Kept work
// directories stay where they are.
func (p *Provisioner) Close() error {
	p.mu.Lock()
	for t := range p.kept {
		t.Stop()
	}
	clear(p.kept)
	p.mu.Unlock()
	p.shutdown()
	return <-p.serve
}

// Provision implements sandbox.Provisioner.
func (p *Provisioner) Provision(ctx context.Context, req sandbox.ProvisionRequest) (map[string]sandbox.Provisioned, error) {
	if req.RunID == "" || len(req.Repos) == 0 {
		return nil, errors.New("provision: a run id and at least one repo are needed")
	}
	out := make(map[string]sandbox.Provisioned, len(req.Repos))
	var started []*instance
	for _, repo := range req.Repos {
		if _, dup := out[repo.Name]; dup || repo.Name == "" {
			err := fmt.Errorf("provision run %s: repo name %q empty or repeated", req.RunID, repo.Name)
			return nil, errors.Join(err, p.stopAll(ctx, started))
		}
		inst, git, err := p.start(ctx, sandbox.JobID(req.RunID, repo.Name, req.Attempt, req.Fence), repo)
		if err != nil {
			err = fmt.Errorf("provision run %s: %w", req.RunID, err)
			return nil, errors.Join(err, p.stopAll(ctx, started))
		}
		started = append(started, inst)
		out[repo.Name] = sandbox.Provisioned{Work: inst.job}
		if git != nil {
			out[repo.Name] = sandbox.Provisioned{Work: inst.job, Git: git}
		}
	}
	p.mu.Lock()
	p.runs[req.RunID] = append(p.runs[req.RunID], started...)
	p.mu.Unlock()
	return out, nil
}

func (p *Provisioner) start(ctx context.Context, job string, repo sandbox.RepoSpec) (*instance, *gate.Gate, error) {
	log := logr.FromContextOrDiscard(ctx).WithValues("repo", repo.Name, "job", job)
	dir, err := os.MkdirTemp(p.opts.Dir, "agent-smith-"+job+"-")
	if err != nil {
		return nil, nil, fmt.Errorf("work directory for %s: %w", repo.Name, err)
	}
	work := filepath.Join(dir, "work")
	var git *gate.Gate
	if repo.RemoteURL != "" {
		git, err = p.gate(dir, work, repo)
	}
	if err == nil {
		err = os.Mkdir(work, 0o755)
	}
	var j *gateway.Job
	if err == nil {
		j, err = p.gw.Open(job)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("sandbox for %s: %w", repo.Name, err)
	}
	inst := &instance{repo: repo.Name, dir: dir, job: j, exited: make(chan struct{}), output: &tailWriter{log: log}}
	if err := p.launch(inst, job, work); err != nil {
		_ = j.Release(ctx)
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	if err := p.awaitReady(ctx, inst); err != nil {
		return nil, nil, errors.Join(err, p.stop(ctx, inst))
	}
	log.V(1).Info("local sandbox ready", "dir", work, "pid", inst.cmd.Process.Pid)
	return inst, git, nil
}

// gate makes the repository's git gate, in a directory of its own next
// to the work directory.
func (p *Provisioner) gate(dir, work string, repo sandbox.RepoSpec) (*gate.Gate, error) {
	gateDir := filepath.Join(dir, "gate")
	if err := os.Mkdir(gateDir, 0o700); err != nil {
		return nil, err
	}
	return gate.New(gate.Options{
		Dir: gateDir, Remote: repo.RemoteURL, Branch: repo.Branch, AllowCIConfigChanges: repo.AllowCIConfigChanges,
		WorkRoot: work, Helper: []string{p.opts.Executable, "sandbox-gate", "credential"}, Log: p.opts.Log,
	})
}

// launch starts the agent and hands it its token over a socket on its
// stdin, once it says it is non-dumpable: the token is never in its
// environment or arguments, where /proc would show it to its steps.
func (p *Provisioner) launch(inst *instance, job, work string) error {
	ours, theirs, err := socketPair()
	if err != nil {
		return err
	}
	defer func() { _ = ours.Close() }()
	cmd := exec.Command(p.opts.Executable, "sandbox-agent", "--job-id", job, "--work-root", work,
		"--idle-timeout", p.opts.IdleTimeout.String(), "--token-stdin")
	cmd.Dir = work
	cmd.Env = p.env()
	cmd.Stdin = theirs
	cmd.Stdout, cmd.Stderr = inst.output, inst.output
	// Its own process group, so a terminal's Ctrl-C reaches the
	// orchestrator first and Release decides; gone with the orchestrator.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	_ = theirs.Close()
	if err != nil {
		return fmt.Errorf("start sandbox agent for %s: %w", inst.repo, err)
	}
	inst.cmd = cmd
	go func() { _ = cmd.Wait(); close(inst.exited) }()
	_ = ours.SetDeadline(time.Now().Add(p.opts.ReadyTimeout))
	line, err := bufio.NewReader(ours).ReadString('\n')
	if err == nil && line != "nodump\n" {
		err = fmt.Errorf("unexpected %q", line)
	}
	if err == nil {
		_, err = ours.WriteString(p.gw.Tokens(job).Agent + "\n")
	}
	if err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-inst.exited
		return fmt.Errorf("sandbox agent for %s did not take its token: %w; its output: %s", inst.repo, err, inst.output.tail())
	}
	return nil
}

// env is what an agent starts with: no secret, the API's address.
func (p *Provisioner) env() []string {
	var env []string
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(append(env, p.opts.Env...), "SANDBOX_API_URL="+p.url)
}

func socketPair() (ours, theirs *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("token socket: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "token"), os.NewFile(uintptr(fds[1]), "agent-stdin"), nil
}

// awaitReady waits for the agent's first poll.
func (p *Provisioner) awaitReady(ctx context.Context, inst *instance) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !inst.job.Alive(sandbox.RoleAgent) {
		select {
		case <-inst.exited:
			return fmt.Errorf("sandbox agent for %s exited before it was ready (%s): %s", inst.repo, inst.cmd.ProcessState, inst.output.tail())
		case <-ctx.Done():
			return fmt.Errorf("sandbox agent for %s not ready: %w; its output: %s", inst.repo, ctx.Err(), inst.output.tail())
		case <-tick.C:
		}
	}
	return nil
}

// Release implements sandbox.Provisioner.
func (p *Provisioner) Release(ctx context.Context, runID string) error {
	return p.stopAll(ctx, p.take(runID))
}

// ReleaseFailed implements sandbox.FailedReleaser: the agents stop as
// with Release, and with Options.KeepFailed their directories stay that
// long.
func (p *Provisioner) ReleaseFailed(ctx context.Context, runID string) error {
	insts := p.take(runID)
	if p.opts.KeepFailed <= 0 {
		return p.stopAll(ctx, insts)
	}
	errs := make([]error, len(insts))
	var wg sync.WaitGroup
	for i, inst := range insts {
		wg.Go(func() { errs[i] = p.end(ctx, inst) })
	}
	wg.Wait()
	until := time.Now().Add(p.opts.KeepFailed)
	for _, inst := range insts {
		p.keep(inst.dir)
		logr.FromContextOrDiscard(ctx).Info("kept the work directory of the failed run for inspection", "run", runID,
			"repo", inst.repo, "dir", filepath.Join(inst.dir, "work"), "until", until.UTC().Format(time.RFC3339))
	}
	return errors.Join(errs...)
}

// keep removes dir after Options.KeepFailed, unless the provisioner is
// closed before.
func (p *Provisioner) keep(dir string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t *time.Timer
	t = time.AfterFunc(p.opts.KeepFailed, func() {
		p.mu.Lock()
		live := p.kept[t]
		delete(p.kept, t)
		p.mu.Unlock()
		if live {
			if err := os.RemoveAll(dir); err != nil {
				p.opts.Log.Error(err, "removing a kept work directory failed", "dir", dir)
			}
		}
	})
	p.kept[t] = true
}

// take hands the run's instances over for release.
func (p *Provisioner) take(runID string) []*instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	insts := p.runs[runID]
	delete(p.runs, runID)
	return insts
}

func (p *Provisioner) stopAll(ctx context.Context, insts []*instance) error {
	errs := make([]error, len(insts))
	var wg sync.WaitGroup
	for i, inst := range insts {
		wg.Go(func() { errs[i] = p.stop(ctx, inst) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stop ends one agent (end), then its directories go.
func (p *Provisioner) stop(ctx context.Context, inst *instance) error {
	err := p.end(ctx, inst)
	if rerr := os.RemoveAll(inst.dir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("remove work directory of %s: %w", inst.repo, rerr))
	}
	return err
}

// end ends one agent: the shutdown step (which first cancels a running
// step), then SIGTERM and SIGKILL to its process group if it lingers.
func (p *Provisioner) end(ctx context.Context, inst *instance) error {
	var errs []error
	if err := inst.job.Release(ctx); err != nil {
		errs = append(errs, err)
	}
	pgid := inst.cmd.Process.Pid
	for _, sig := range []syscall.Signal{0, syscall.SIGTERM, syscall.SIGKILL} {
		if sig != 0 {
			_ = syscall.Kill(-pgid, sig)
		}
		t := time.NewTimer(p.opts.ShutdownGrace)
		select {
		case <-inst.exited:
		case <-t.C:
		}
		t.Stop()
		if isClosed(inst.exited) {
			break
		}
	}
	return errors.Join(errs...)
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// tailWriter logs an agent's output line by line and keeps the last lines
// for the error of an agent that did not come up.
type tailWriter struct {
	log     logr.Logger
	mu      sync.Mutex
	partial []byte
	last    []string
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		w.log.V(1).Info("sandbox agent", "line", line)
		w.last = append(w.last, line)
		if len(w.last) > 10 {
			w.last = w.last[1:]
		}
	}
	return len(p), nil
}

func (w *tailWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(append(w.last, string(w.partial)), "\n")
}
