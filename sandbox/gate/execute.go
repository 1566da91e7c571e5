package gate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/scrub"
)

// Execute runs a gate step of the sandbox API and answers it; the step's
// credential is masked in whatever the answer says.
func (g *Gate) Execute(ctx context.Context, step sandbox.Step) sandbox.StepResult {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, step.Timeout())
	defer cancel()
	var payload any
	var err error
	switch step.Kind {
	case sandbox.KindGitFetch:
		payload, err = g.Fetch(ctx, sandbox.FetchRequest{Base: step.Base, Branch: step.Branch, Credential: step.Credential})
	case sandbox.KindGitRefs:
		payload, err = g.Refs(ctx, sandbox.RefsRequest{Branches: step.Branches, Credential: step.Credential})
	case sandbox.KindGitPush:
		payload, err = g.Push(ctx, sandbox.PushRequest{Branch: step.Branch, Commit: step.Commit, Lease: step.Lease, Credential: step.Credential})
	default:
		err = fmt.Errorf("%s steps are not the gate's", step.Kind)
	}
	res := sandbox.StepResult{SchemaVersion: sandbox.SchemaVersion, StepID: step.StepID}
	if err == nil {
		var data []byte
		data, err = json.Marshal(payload)
		res.OutputContent = string(data)
	}
	if err != nil {
		var masks *scrub.Scrubber
		if c := step.Credential; c != nil {
			masks = scrub.New(c.Password)
		}
		res.ExitCode, res.ErrorMessage = -1, masks.String(err.Error())
		res.TimedOut = ctx.Err() == context.DeadlineExceeded
	}
	res.DurationSeconds = time.Since(began).Seconds()
	return res
}
