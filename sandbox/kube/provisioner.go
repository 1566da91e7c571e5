package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
)

// ProvisionerOptions tune a Provisioner. Zero values take the defaults.
type ProvisionerOptions struct {
	// Wait bounds the wait for the reconciler's reports. The reconciler
	// fails a sandbox that is not ready within sandbox.ready_timeout_seconds,
	// so this only ends a wait nobody answers (no reconciler runs, or it
	// cannot reach the API). Default 15m.
	Wait time.Duration
	// AgentWait bounds the wait for the first polls of the agent and the
	// gate once their containers run. Default 30s.
	AgentWait time.Duration
}

// Provisioner implements sandbox.Provisioner on sandbox pods. It never
// calls the Kubernetes API: the sandbox reconciler creates the pods of every
// run this replica owns once it starts, and deletes them once
// the run leaves the active states. Provision opens the sandboxes' jobs on
// the replica's sandbox API, waits for the reconciler's reports on the
// Board, then for the agent's and the gate's first polls.
//
// Release shuts the agents and gates down; the pods go when the run stops
// being active (a failed run's may be kept for a while, their jobs
// released all the same). A run that parks in awaiting_input therefore holds no pod
// while it waits for an answer (which may take days): its resumption is a
// new attempt with fresh pods and fresh job ids, and the pipeline rebuilds
// the workspace there. A Release while the run is still active (the
// pipeline releases before its final transition) leaves pods whose agent
// has exited; the reconciler never re-creates a sandbox of the same
// attempt and deletes them at the transition.
type Provisioner struct {
	gw    *gateway.Gateway
	board *Board
	opts  ProvisionerOptions

	mu   sync.Mutex
	runs map[string][]*gateway.Job
}

var _ sandbox.Provisioner = (*Provisioner)(nil)

// NewProvisioner returns a provisioner that waits on board and reaches the
// sandboxes through gw.
func NewProvisioner(gw *gateway.Gateway, board *Board, opts ProvisionerOptions) *Provisioner {
	if opts.Wait <= 0 {
		opts.Wait = 15 * time.Minute
	}
	if opts.AgentWait <= 0 {
		opts.AgentWait = 30 * time.Second
	}
	return &Provisioner{gw: gw, board: board, opts: opts, runs: map[string][]*gateway.Job{}}
}

// Provision implements sandbox.Provisioner. The image of a sandbox, its
// remote and branch come from the configuration and the run (the
// reconciler builds the pod, config.ToolchainImage picks the image), so
// RepoSpec's are not used here.
func (p *Provisioner) Provision(ctx context.Context, req sandbox.ProvisionRequest) (map[string]sandbox.Provisioned, error) {
	if req.RunID == "" || req.Attempt < 1 || len(req.Repos) == 0 {
		return nil, errors.New("provision: a run id, an attempt and at least one repo are needed")
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("run", req.RunID)
	ids := make([]string, len(req.Repos))
	jobs := make([]*gateway.Job, 0, len(req.Repos))
	fail := func(err error) (map[string]sandbox.Provisioned, error) {
		p.board.Forget(req.RunID)
		return nil, errors.Join(fmt.Errorf("provision run %s: %w", req.RunID, err), release(ctx, jobs))
	}
	for i, repo := range req.Repos {
		ids[i] = Spec{RunID: req.RunID, Attempt: req.Attempt, Fence: req.Fence, Repo: repo.Name}.JobID()
		j, err := p.gw.Open(ids[i])
		if err != nil {
			return fail(err)
		}
		jobs = append(jobs, j)
	}
	wait, cancel := context.WithTimeout(ctx, p.opts.Wait)
	defer cancel()
	if err := p.board.Await(wait, req.RunID, ids); err != nil {
		return fail(err)
	}
	log.V(1).Info("sandbox pods ready, waiting for their agents and gates", "jobs", ids)
	for _, j := range jobs {
		for _, role := range []string{sandbox.RoleAgent, sandbox.RoleGate} {
			if err := p.awaitPoll(ctx, j, role); err != nil {
				return fail(err)
			}
		}
	}
	out := make(map[string]sandbox.Provisioned, len(req.Repos))
	for i, repo := range req.Repos {
		out[repo.Name] = sandbox.Provisioned{Work: jobs[i], Git: jobs[i].Gate()}
	}
	p.mu.Lock()
	p.runs[req.RunID] = append(p.runs[req.RunID], jobs...)
	p.mu.Unlock()
	return out, nil
}

// awaitPoll waits for the first poll of role once its container runs: the
// process is starting, so this is a matter of milliseconds.
func (p *Provisioner) awaitPoll(ctx context.Context, j *gateway.Job, role string) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.AgentWait)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !j.Alive(role) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the %s of job %s does not poll the sandbox API although its pod runs: %w", role, j.JobID(), ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// Release implements sandbox.Provisioner: it stops the run's agents and
// gates. Their pods are the reconciler's to delete.
func (p *Provisioner) Release(ctx context.Context, runID string) error {
	p.mu.Lock()
	jobs := p.runs[runID]
	delete(p.runs, runID)
	p.mu.Unlock()
	p.board.Forget(runID)
	if err := release(ctx, jobs); err != nil {
		return fmt.Errorf("release run %s: %w", runID, err)
	}
	return nil
}

func release(ctx context.Context, jobs []*gateway.Job) error {
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() { errs[i] = j.Release(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
