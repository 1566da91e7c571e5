package sandbox

import (
	"context"
	"errors"
)

// Sandbox is one repository's sandbox as the pipeline sees it. Steps of one
// sandbox run one at a time in the order they were sent; Run may be called
// from several goroutines and each gets its own step's result.
type Sandbox interface {
	// Run executes step and returns its result. onEvent, when not nil,
	// receives the live events of a run step, from one goroutine, and is
	// not called after Run returns. The error is nil whenever the agent
	// answered, even if the command failed or the agent refused the step
	// (see StepResult.Err); it is set when there is no answer: ctx ended,
	// the step deadline (timeout + grace) passed (ErrNoResult), the agent
	// died (ErrAgentGone) or the sandbox was released (ErrReleased).
	Run(ctx context.Context, step Step, onEvent func(StepEvent)) (StepResult, error)
	// JobID identifies the sandbox in logs and Redis keys.
	JobID() string
}

// Provisioner gives a run one sandbox per repository and takes them back.
// The local backend starts agent processes; the Kubernetes backend waits
// until the run's pods (created by the reconciler) report ready and hands
// out Remotes for them.
type Provisioner interface {
	// Provision returns a ready Sandbox for every repo of req, keyed by
	// repo name. On error nothing of req is left running.
	Provision(ctx context.Context, req ProvisionRequest) (map[string]Sandbox, error)
	// Release stops every sandbox of the run and removes what they left:
	// processes or pods, work directories, Redis keys. It is safe to call
	// more than once and for a run that has nothing provisioned.
	Release(ctx context.Context, runID string) error
}

// ProvisionRequest names the sandboxes of one run attempt.
type ProvisionRequest struct {
	RunID   string
	Attempt int
	// Fence is the run's start (runs.Run.Fence): sandboxes of two starts
	// never share a job id.
	Fence int64
	Repos []RepoSpec
}

// RepoSpec is one repository's sandbox.
type RepoSpec struct {
	Name string
	// Env is added to the sandbox's process environment: credentials such
	// as GIT_TOKEN travel this way, never through Redis.
	Env map[string]string
}

// Errors of Run when no result arrives.
var (
	ErrNoResult  = errors.New("no result before the step deadline")
	ErrAgentGone = errors.New("sandbox agent is gone (heartbeat expired)")
	ErrReleased  = errors.New("sandbox released")
)
