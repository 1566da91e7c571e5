package gate

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/apiclient"
	"github.com/agent-smith/agent-smith/sandbox/internal/scrub"
)

// RunOptions configure the gate of a sandbox pod.
type RunOptions struct {
	Gate Options
	// APIURL, APICert and Token reach the sandbox API as the job's gate.
	APIURL  string
	APICert []byte
	Token   string
	JobID   string
	// AuthGrace is how long a refused token is waited out. Default 60s.
	AuthGrace time.Duration
	Log       logr.Logger
}

// Run serves the job's gate steps until ctx ends. A shutdown step or the
// job's release do not end it: a native sidecar that exits is restarted,
// so the gate idles until the pod stops it. It returns an error for
// options it cannot work with, and for a token the API refuses for good.
func Run(ctx context.Context, o RunOptions) error {
	g, err := New(o.Gate)
	if err != nil {
		return err
	}
	c, err := apiclient.New(apiclient.Options{URL: o.APIURL, CertPEM: o.APICert, Role: sandbox.RoleGate, Job: o.JobID, Token: o.Token})
	if err != nil {
		return fmt.Errorf("gate: %w", err)
	}
	log := o.Log.WithValues("job", o.JobID)
	masks := scrub.New(o.Token)
	log.Info("sandbox gate started", "remote", o.Gate.Remote, "branch", o.Gate.Branch)
	err = apiclient.Serve(ctx, c, g, apiclient.ServeOptions{
		Accepts:   sandbox.GateKind,
		AuthGrace: o.AuthGrace,
		Scrub: func(r sandbox.StepResult) sandbox.StepResult {
			r.ErrorMessage, r.OutputContent = masks.String(r.ErrorMessage), masks.String(r.OutputContent)
			return r
		},
		Log: log,
	})
	if err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
