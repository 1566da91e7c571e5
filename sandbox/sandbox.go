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
	// JobID identifies the sandbox in logs and the sandbox API.
	JobID() string
}

// Gate is the git of one repository's sandbox, outside its toolchain: it
// alone holds the git credential (given per call, just in time), talks to
// the configured remote, and pushes only the run's branch and its WIP
// branch. The workspace reads its objects (FetchResult.ObjectsDir, as git
// alternates) and hands commits back as a bundle; nothing of the
// workspace's git configuration is ever honoured with the credential.
type Gate interface {
	// Fetch fetches the base branch (the remote's HEAD when req.Base is
	// "") and the run's branch, if the remote has it.
	Fetch(ctx context.Context, req FetchRequest) (FetchResult, error)
	// Refs reads the remote's SHAs of the run's branches (absent ones are
	// missing from the map).
	Refs(ctx context.Context, req RefsRequest) (map[string]string, error)
	// Push imports the workspace's push bundle (PushBundle) and pushes
	// req.Commit to req.Branch, with req.Lease as the expected remote SHA.
	Push(ctx context.Context, req PushRequest) (PushResult, error)
}

// PushBundle is where the workspace writes the bundle of a push, relative
// to its work root.
const PushBundle = ".git/agent-smith/push.bundle"

// FetchRequest is a Gate's fetch.
type FetchRequest struct {
	Base, Branch string
	Credential   *GitCredential
}

// FetchResult is what a fetch found: the base branch (resolved when the
// request left it empty) and the SHAs of both branches, BranchSHA "" when
// the run's branch does not exist yet; and where the gate keeps the
// objects, as the workspace reads them (its volume is mounted at the same
// path in the toolchain).
type FetchResult struct {
	Base       string `json:"base"`
	BaseSHA    string `json:"baseSha"`
	BranchSHA  string `json:"branchSha,omitempty"`
	ObjectsDir string `json:"objectsDir"`
}

// RefsRequest reads the SHAs of branches on the remote.
type RefsRequest struct {
	Branches   []string
	Credential *GitCredential
}

// PushRequest is a Gate's push.
type PushRequest struct {
	Branch, Commit, Lease string
	Credential            *GitCredential
}

// PushResult says whether the push changed the remote, and the branch's
// SHA there now.
type PushResult struct {
	Pushed    bool   `json:"pushed"`
	RemoteSHA string `json:"remoteSha"`
}

// Provisioned is one repository's sandbox: its workspace (the agent) and
// its git gate.
type Provisioned struct {
	Work Sandbox
	Git  Gate
}

// Provisioner gives a run one sandbox per repository and takes them back.
// The local backend starts agent processes; the Kubernetes backend waits
// until the run's pods (created by the reconciler) report ready. Either
// way the sandboxes are reached through the sandbox API of this process
// (package gateway).
type Provisioner interface {
	// Provision returns a ready sandbox for every repo of req, keyed by
	// repo name. On error nothing of req is left running.
	Provision(ctx context.Context, req ProvisionRequest) (map[string]Provisioned, error)
	// Release stops every sandbox of the run and removes what they left:
	// processes or pods, work directories. It is safe to call more than
	// once and for a run that has nothing provisioned.
	Release(ctx context.Context, runID string) error
}

// FailedReleaser is a Provisioner that may keep what a failed run's
// sandboxes left for inspection (sandbox.keep_failed_pods_minutes). The
// pipeline releases a failed run through it. The Kubernetes backend is
// none: its reconciler keeps a failed run's pods, from the run's state.
type FailedReleaser interface {
	// ReleaseFailed stops the run's sandboxes as Release does, and keeps
	// their work directories for as long as the backend is configured to.
	ReleaseFailed(ctx context.Context, runID string) error
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
	// RemoteURL, Branch and AllowCIConfigChanges are the gate's: the only
	// URL it talks to, the run's branch (and its -wip twin), the only
	// ones it pushes, and whether a push may change CI configuration.
	// The Kubernetes backend's gate takes them from the pod instead; the
	// local backend gives a repo without a RemoteURL no gate.
	RemoteURL            string
	Branch               string
	AllowCIConfigChanges bool
}

// Errors of Run when no result arrives.
var (
	ErrNoResult  = errors.New("no result before the step deadline")
	ErrAgentGone = errors.New("sandbox agent is gone (it stopped polling)")
	ErrReleased  = errors.New("sandbox released")
)
