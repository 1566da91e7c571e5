package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/sandbox"
)

// ProvisionerOptions tune a Provisioner. Zero values take the defaults.
type ProvisionerOptions struct {
	// Prefix of the Redis keys (queue.redis_prefix); default
	// sandbox.DefaultPrefix.
	Prefix string
	// Wait bounds the wait for the reconciler's reports. The reconciler
	// fails a sandbox that is not ready within sandbox.ready_timeout_seconds,
	// so this only ends a wait nobody answers (no reconciler runs, or it
	// cannot reach the API). Default 15m.
	Wait time.Duration
	// AgentWait bounds the wait for the agent's first heartbeat once its
	// container runs. Default 30s.
	AgentWait time.Duration
	// Remote tunes the sandboxes handed out.
	Remote sandbox.RemoteOptions
}

// Provisioner implements sandbox.Provisioner on sandbox pods. It never
// calls the Kubernetes API: the sandbox reconciler creates the pods of every
// run this replica owns once it enters provisioning, and deletes them once
// the run leaves the active states. Provision waits for the reconciler's
// reports on the Board, then for each agent's heartbeat.
//
// Release shuts the agents down and deletes their Redis keys; the pods go
// when the run stops being active. A run that parks in awaiting_input
// therefore holds no pod while it waits for an answer (which may take days):
// its resumption is a new attempt with fresh pods and fresh job ids, and
// the pipeline rebuilds the workspace there. A Release while the run is
// still active (the pipeline releases before its final transition) leaves
// pods whose agent has exited; the reconciler never re-creates a sandbox of
// the same attempt and deletes them at the transition.
type Provisioner struct {
	rdb   redis.UniversalClient
	board *Board
	opts  ProvisionerOptions

	mu   sync.Mutex
	runs map[string][]*sandbox.Remote
}

var _ sandbox.Provisioner = (*Provisioner)(nil)

// NewProvisioner returns a provisioner that waits on board and reaches the
// agents through rdb.
func NewProvisioner(rdb redis.UniversalClient, board *Board, opts ProvisionerOptions) *Provisioner {
	if opts.Prefix == "" {
		opts.Prefix = sandbox.DefaultPrefix
	}
	if opts.Wait <= 0 {
		opts.Wait = 15 * time.Minute
	}
	if opts.AgentWait <= 0 {
		opts.AgentWait = 30 * time.Second
	}
	return &Provisioner{rdb: rdb, board: board, opts: opts, runs: map[string][]*sandbox.Remote{}}
}

// Provision implements sandbox.Provisioner. The image and environment of a
// sandbox come from the configuration and the run (the reconciler builds
// the pod, config.ToolchainImage picks the image), so RepoSpec.Env is not
// used here: the repository's token reaches the pod as GIT_TOKEN from the
// sandbox Secret.
func (p *Provisioner) Provision(ctx context.Context, req sandbox.ProvisionRequest) (map[string]sandbox.Sandbox, error) {
	if req.RunID == "" || req.Attempt < 1 || len(req.Repos) == 0 {
		return nil, errors.New("provision: a run id, an attempt and at least one repo are needed")
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("run", req.RunID)
	jobs := make([]string, len(req.Repos))
	remotes := make([]*sandbox.Remote, len(req.Repos))
	for i, repo := range req.Repos {
		jobs[i] = Spec{RunID: req.RunID, Attempt: req.Attempt, Fence: req.Fence, Repo: repo.Name}.JobID()
		r, err := sandbox.NewRemote(p.rdb, p.opts.Prefix, jobs[i], p.opts.Remote)
		if err != nil {
			return nil, fmt.Errorf("provision run %s: %w", req.RunID, err)
		}
		remotes[i] = r
	}
	fail := func(err error) (map[string]sandbox.Sandbox, error) {
		p.board.Forget(req.RunID)
		return nil, errors.Join(fmt.Errorf("provision run %s: %w", req.RunID, err), release(ctx, remotes))
	}

	wait, cancel := context.WithTimeout(ctx, p.opts.Wait)
	defer cancel()
	if err := p.board.Await(wait, req.RunID, jobs); err != nil {
		return fail(err)
	}
	log.V(1).Info("sandbox pods ready, waiting for the agents", "jobs", jobs)
	for _, r := range remotes {
		if err := p.awaitAgent(ctx, r); err != nil {
			return fail(err)
		}
	}
	out := make(map[string]sandbox.Sandbox, len(req.Repos))
	for i, repo := range req.Repos {
		out[repo.Name] = remotes[i]
	}
	p.mu.Lock()
	p.runs[req.RunID] = append(p.runs[req.RunID], remotes...)
	p.mu.Unlock()
	return out, nil
}

// awaitAgent waits for the first heartbeat of an agent whose container
// runs: the process is starting, so this is a matter of milliseconds.
func (p *Provisioner) awaitAgent(ctx context.Context, r *sandbox.Remote) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.AgentWait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if ok, err := r.Alive(ctx); err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("agent of job %s gave no heartbeat although its pod runs: %w", r.JobID(), ctx.Err())
		case <-tick.C:
		}
	}
}

// Release implements sandbox.Provisioner: it stops the run's agents and
// deletes their keys. Their pods are the reconciler's to delete.
func (p *Provisioner) Release(ctx context.Context, runID string) error {
	p.mu.Lock()
	remotes := p.runs[runID]
	delete(p.runs, runID)
	p.mu.Unlock()
	p.board.Forget(runID)
	if err := release(ctx, remotes); err != nil {
		return fmt.Errorf("release run %s: %w", runID, err)
	}
	return nil
}

func release(ctx context.Context, remotes []*sandbox.Remote) error {
	errs := make([]error, len(remotes))
	var wg sync.WaitGroup
	for i, r := range remotes {
		wg.Go(func() { errs[i] = r.Release(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
