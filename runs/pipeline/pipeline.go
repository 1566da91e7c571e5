package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/skills"
	"github.com/agent-smith/agent-smith/trackers"
)

// Store is the part of the run store the pipeline writes to outside a
// run's lease: the finalizer records the comments it posted.
type Store interface {
	Update(ctx context.Context, id string, u runs.Update) (runs.Run, error)
	// RecordOwnComment remembers a comment the run posted on its ticket.
	RecordOwnComment(ctx context.Context, tracker, ticket, commentID string) error
}

// ModelFactory builds the model of an agent's slot for a run
// (providers.New in production).
type ModelFactory func(ctx context.Context, cfg *config.Config, agent string, slot llm.Slot, runID string) (*llm.Model, error)

// SkillsSource loads the prompt catalog a config names (*skills.Loader).
type SkillsSource interface {
	Load(ctx context.Context, s config.Skills) (*skills.Catalog, error)
}

// Deps are what a Pipeline works with.
type Deps struct {
	// Config returns the configuration in force; a run keeps the one it
	// started with, so a reload never changes a run halfway.
	Config func() *config.Config
	// Tracker builds (or returns) the tracker called name of cfg.
	Tracker func(cfg *config.Config, name string) (trackers.Tracker, error)
	// RepoHost builds the host of repository name of cfg; an error
	// matching trackers.ErrNoHost means a plain git repository, which is
	// pushed without a pull request.
	RepoHost func(cfg *config.Config, repo string) (trackers.RepoHost, error)
	Store    Store
	// Provisioner gives the run its sandboxes (local processes or pods).
	Provisioner sandbox.Provisioner
	Models      ModelFactory
	Skills      SkillsSource
	// RunsDir, when set, replaces orchestrator.runs_dir as the directory
	// the run's artifacts are kept in on this machine.
	RunsDir string
	// Now is the clock of step timings; nil means time.Now.
	Now func() time.Time
}

// Pipeline executes runs (it is the workers' Executor). Safe for
// concurrent use by several workers.
type Pipeline struct {
	deps   Deps
	models *modelCache
}

// New checks deps and returns a pipeline.
func New(d Deps) (*Pipeline, error) {
	var missing []string
	for _, f := range []struct {
		name string
		nil  bool
	}{
		{"Config", d.Config == nil}, {"Tracker", d.Tracker == nil}, {"RepoHost", d.RepoHost == nil},
		{"Store", d.Store == nil}, {"Provisioner", d.Provisioner == nil}, {"Models", d.Models == nil},
		{"Skills", d.Skills == nil},
	} {
		if f.nil {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("pipeline dependencies missing: %v", missing)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Pipeline{deps: d, models: newModelCache()}, nil
}

// Execute carries the run of lease from its start to its end:
// succeeded, failed or awaiting input. It applies the run's transitions
// itself, through the lease, and guards every write to the ticket, the
// repository host and the remote with it. When ctx ends (a drain, a lost
// or expired lease) it releases the sandboxes and returns ctx's error with
// the run left as it is, for the worker to settle. The ticket is told how
// the run ended by the finalizer (Finalize), not here.
func (p *Pipeline) Execute(ctx context.Context, lease *runs.Lease) error {
	j := p.newJob(ctx, lease)
	ctx = llm.WithTrace(ctx, j.trace())
	steps, err := Steps(j.run.Pipeline)
	if err != nil {
		return j.fail(ctx, StepTicket, err)
	}
	j.initSteps(steps)
	for _, name := range steps {
		err := j.runStep(ctx, name)
		switch {
		case errors.Is(err, errParked):
			return nil
		case err != nil && j.abandoned(ctx, err):
			return j.abandon(ctx, err)
		case err != nil:
			return j.fail(ctx, name, err)
		}
	}
	return nil
}
