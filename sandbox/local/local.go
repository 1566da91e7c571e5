// Package local is the sandbox backend without a cluster (SANDBOX_TYPE=local):
// every (run, repo) gets `agent-smith sandbox-agent` as a child process in
// a fresh temporary work directory, spoken to through Redis like a pod.
// It is what `make run`, the CLI and the demo use; it isolates nothing
// beyond the work directory and the environment.
//
// Of agent-smith it imports sandbox alone.
package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/sandbox"
)

// passEnv are the variables of the orchestrator's environment an agent
// inherits: enough for toolchains to find themselves, none of the
// orchestrator's secrets.
var passEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"}

// Options configure the provisioner.
type Options struct {
	// Client reaches the Redis the agents use (RedisURL).
	Client   redis.UniversalClient
	RedisURL string
	// Prefix of the Redis keys; default sandbox.DefaultPrefix.
	Prefix string
	// Executable is the agent-smith binary; default this process's own.
	Executable string
	// Dir holds the work directories; default the system's temporary one.
	Dir string
	// Env is added to what agents inherit (see passEnv), before the
	// repository's own RepoSpec.Env.
	Env []string
	// IdleTimeout ends an agent nobody talks to (an orchestrator that
	// died without releasing). Default 15m.
	IdleTimeout time.Duration
	// ReadyTimeout bounds the wait for an agent's first heartbeat.
	// Default 30s.
	ReadyTimeout time.Duration
	// ShutdownGrace is how long Release waits for an agent to exit after
	// the shutdown step, before signals. Default 10s.
	ShutdownGrace time.Duration
	// Remote tunes the sandboxes handed out.
	Remote sandbox.RemoteOptions
}

// Provisioner implements sandbox.Provisioner with local processes.
type Provisioner struct {
	opts Options
	mu   sync.Mutex
	runs map[string][]*instance
}

var _ sandbox.Provisioner = (*Provisioner)(nil)

// instance is one running agent.
type instance struct {
	repo   string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	remote *sandbox.Remote
	output *tailWriter
}

// New checks opts and returns a provisioner.
func New(opts Options) (*Provisioner, error) {
	if opts.Client == nil || opts.RedisURL == "" {
		return nil, errors.New("local sandboxes need a Redis client and its URL")
	}
	if opts.Prefix == "" {
		opts.Prefix = sandbox.DefaultPrefix
	}
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
	return &Provisioner{opts: opts, runs: map[string][]*instance{}}, nil
}

// Provision implements sandbox.Provisioner.
func (p *Provisioner) Provision(ctx context.Context, req sandbox.ProvisionRequest) (map[string]sandbox.Sandbox, error) {
	if req.RunID == "" || len(req.Repos) == 0 {
		return nil, errors.New("provision: a run id and at least one repo are needed")
	}
	out := make(map[string]sandbox.Sandbox, len(req.Repos))
	var started []*instance
	for _, repo := range req.Repos {
		if _, dup := out[repo.Name]; dup || repo.Name == "" {
			err := fmt.Errorf("provision run %s: repo name %q empty or repeated", req.RunID, repo.Name)
			return nil, errors.Join(err, p.stopAll(ctx, started))
		}
		inst, err := p.start(ctx, sandbox.JobID(req.RunID, repo.Name, req.Attempt, req.Fence), repo)
		if err != nil {
			err = fmt.Errorf("provision run %s: %w", req.RunID, err)
			return nil, errors.Join(err, p.stopAll(ctx, started))
		}
		started = append(started, inst)
		out[repo.Name] = inst.remote
	}
	p.mu.Lock()
	p.runs[req.RunID] = append(p.runs[req.RunID], started...)
	p.mu.Unlock()
	return out, nil
}

func (p *Provisioner) start(ctx context.Context, job string, repo sandbox.RepoSpec) (*instance, error) {
	log := logr.FromContextOrDiscard(ctx).WithValues("repo", repo.Name, "job", job)
	dir, err := os.MkdirTemp(p.opts.Dir, "agent-smith-"+job+"-")
	if err != nil {
		return nil, fmt.Errorf("work directory for %s: %w", repo.Name, err)
	}
	remote, err := sandbox.NewRemote(p.opts.Client, p.opts.Prefix, job, p.opts.Remote)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	inst := &instance{repo: repo.Name, dir: dir, remote: remote, exited: make(chan struct{}), output: &tailWriter{log: log}}
	cmd := exec.Command(p.opts.Executable, "sandbox-agent", "--work-root", dir, "--idle-timeout", p.opts.IdleTimeout.String())
	cmd.Dir = dir
	cmd.Env = p.env(job, repo)
	cmd.Stdout, cmd.Stderr = inst.output, inst.output
	// Its own process group, so a terminal's Ctrl-C reaches the
	// orchestrator first and Release decides; gone with the orchestrator.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start sandbox agent for %s: %w", repo.Name, err)
	}
	inst.cmd = cmd
	go func() { _ = cmd.Wait(); close(inst.exited) }()
	if err := p.awaitReady(ctx, inst); err != nil {
		return nil, errors.Join(err, p.stop(ctx, inst))
	}
	log.V(1).Info("local sandbox ready", "dir", dir, "pid", cmd.Process.Pid)
	return inst, nil
}

// env is what an agent starts with. REDIS_URL travels as environment, not
// as an argument that every `ps` shows.
func (p *Provisioner) env(job string, repo sandbox.RepoSpec) []string {
	var env []string
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, p.opts.Env...)
	env = append(env, "REDIS_URL="+p.opts.RedisURL, "REDIS_PREFIX="+p.opts.Prefix, "JOB_ID="+job)
	for k, v := range repo.Env {
		env = append(env, k+"="+v)
	}
	return env
}

// awaitReady waits for the agent's first heartbeat.
func (p *Provisioner) awaitReady(ctx context.Context, inst *instance) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if ok, err := inst.remote.Alive(ctx); err == nil && ok {
			return nil
		}
		select {
		case <-inst.exited:
			return fmt.Errorf("sandbox agent for %s exited before it was ready (%s): %s", inst.repo, inst.cmd.ProcessState, inst.output.tail())
		case <-ctx.Done():
			return fmt.Errorf("sandbox agent for %s not ready: %w; its output: %s", inst.repo, ctx.Err(), inst.output.tail())
		case <-tick.C:
		}
	}
}

// Release implements sandbox.Provisioner.
func (p *Provisioner) Release(ctx context.Context, runID string) error {
	p.mu.Lock()
	insts := p.runs[runID]
	delete(p.runs, runID)
	p.mu.Unlock()
	return p.stopAll(ctx, insts)
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

// stop ends one agent: the shutdown step (which first cancels a running
// step), then SIGTERM and SIGKILL to its process group if it lingers; then
// its directory and keys go.
func (p *Provisioner) stop(ctx context.Context, inst *instance) error {
	var errs []error
	if err := inst.remote.Release(ctx); err != nil {
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
	// An agent killed mid-step may have written keys after the first Release.
	if err := inst.remote.Release(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(inst.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove work directory of %s: %w", inst.repo, err))
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
