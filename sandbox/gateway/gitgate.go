package gateway

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/agent-smith/agent-smith/sandbox"
)

// gateTimeout is the timeout of a gate step, in seconds: fetching or
// pushing a big repository takes a while.
const gateTimeout = 300

// Gate returns the job's git gate.
func (j *Job) Gate() sandbox.Gate { return &remoteGate{j: j} }

// remoteGate is a sandbox.Gate whose git runs in the sandbox's gate
// process, reached through the gate's role of the job.
type remoteGate struct{ j *Job }

func (r *remoteGate) Fetch(ctx context.Context, req sandbox.FetchRequest) (sandbox.FetchResult, error) {
	var out sandbox.FetchResult
	err := r.do(ctx, sandbox.Step{Kind: sandbox.KindGitFetch, Base: req.Base, Branch: req.Branch, Credential: req.Credential}, &out)
	return out, err
}

func (r *remoteGate) Refs(ctx context.Context, req sandbox.RefsRequest) (map[string]string, error) {
	out := map[string]string{}
	err := r.do(ctx, sandbox.Step{Kind: sandbox.KindGitRefs, Branches: req.Branches, Credential: req.Credential}, &out)
	return out, err
}

func (r *remoteGate) Push(ctx context.Context, req sandbox.PushRequest) (sandbox.PushResult, error) {
	var out sandbox.PushResult
	err := r.do(ctx, sandbox.Step{Kind: sandbox.KindGitPush, Branch: req.Branch, Commit: req.Commit, Lease: req.Lease, Credential: req.Credential}, &out)
	return out, err
}

// do runs a gate step and decodes its payload into out.
func (r *remoteGate) do(ctx context.Context, step sandbox.Step, out any) error {
	step.TimeoutSeconds = gateTimeout
	res, err := r.j.run(ctx, r.j.gate, step, nil)
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(res.OutputContent), out); err != nil {
		return fmt.Errorf("decode %s result of job %s: %w", step.Kind, r.j.id, err)
	}
	return nil
}
