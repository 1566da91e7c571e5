package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/apiclient"
	"github.com/agent-smith/agent-smith/sandbox/internal/scrub"
)

// Errors of Run that are not failures of the agent itself.
var (
	// ErrIdle: no step came for Options.IdleTimeout.
	ErrIdle = apiclient.ErrIdle
	// ErrUsage: the options cannot work (no job id, bad URL, no work root).
	ErrUsage = errors.New("invalid options")
	// ErrUnauthorized: the sandbox API refused the token for longer than
	// Options.AuthGrace: the orchestrator that made it is gone.
	ErrUnauthorized = apiclient.ErrUnauthorized
)

// Options configure the agent.
type Options struct {
	// APIURL is the sandbox API of the orchestrator replica that owns the
	// job; APICert its certificate, pinned (none: plain http on loopback).
	APIURL  string
	APICert []byte
	// Token is the job's agent token. It is masked in everything the
	// agent sends, and kept from the commands it runs.
	Token string
	JobID string
	// WorkRoot is the directory every path of a step is confined to;
	// default the working directory (/work in a sandbox pod).
	WorkRoot string
	// IdleTimeout ends the agent when no step came for that long; a lost
	// orchestrator must not leave sandboxes running forever. Default 15m.
	IdleTimeout time.Duration
	// AuthGrace is how long a refused token is waited out. Default 60s.
	AuthGrace time.Duration
	Logger    logr.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 15 * time.Minute
	}
	if o.WorkRoot == "" {
		wd, err := os.Getwd()
		if err != nil {
			return o, fmt.Errorf("%w: work root: %w", ErrUsage, err)
		}
		o.WorkRoot = wd
	}
	if err := sandbox.ValidateJobID(o.JobID); err != nil {
		return o, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if o.APIURL == "" {
		return o, fmt.Errorf("%w: no sandbox API URL", ErrUsage)
	}
	return o, nil
}

// Run serves steps until a shutdown step or the release of the job (nil),
// the end of ctx (nil: the agent was told to stop), IdleTimeout (ErrIdle)
// or a token refused past AuthGrace (ErrUnauthorized). An API that cannot
// be reached is waited for, not an error.
func Run(ctx context.Context, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	client, err := apiclient.New(apiclient.Options{URL: opts.APIURL, CertPEM: opts.APICert, Role: sandbox.RoleAgent, Job: opts.JobID, Token: opts.Token})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	ws, err := openWorkspace(opts.WorkRoot)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	defer ws.close()
	log := opts.Logger.WithValues("job", opts.JobID)
	masks := scrub.New(opts.Token)
	pub := newPublisher(client, log)
	x := newExecutor(ws, pub)
	x.scrub = masks

	ctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { pub.loop(ctx) })
	defer func() {
		stop()
		wg.Wait()
	}()
	log.Info("sandbox agent started", "workRoot", ws.dir, "grep", x.grepEngine())
	return apiclient.Serve(ctx, client, &stepper{x: x, pub: pub}, apiclient.ServeOptions{
		Accepts:     func(k sandbox.Kind) bool { return !sandbox.GateKind(k) },
		IdleTimeout: opts.IdleTimeout,
		AuthGrace:   opts.AuthGrace,
		Scrub:       func(r sandbox.StepResult) sandbox.StepResult { return scrubResult(masks, r) },
		Log:         log,
	})
}

// stepper executes a step and sends its events before its result goes.
type stepper struct {
	x   *executor
	pub *publisher
}

func (s *stepper) Execute(ctx context.Context, step sandbox.Step) sandbox.StepResult {
	res := s.x.execute(ctx, step)
	if step.Stream {
		s.pub.flush(ctx)
	}
	return res
}

// scrubResult masks secrets in every text a result carries.
func scrubResult(s *scrub.Scrubber, r sandbox.StepResult) sandbox.StepResult {
	r.Stdout, r.Stderr = s.String(r.Stdout), s.String(r.Stderr)
	r.ErrorMessage, r.OutputContent = s.String(r.ErrorMessage), s.String(r.OutputContent)
	return r
}
