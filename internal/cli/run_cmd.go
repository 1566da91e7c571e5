package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/cmdline"
	"github.com/agent-smith/agent-smith/internal/logging"
	"github.com/agent-smith/agent-smith/internal/nodump"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/runs/worker"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

// The help of `run`.
const (
	runSummary = `agent-smith run executes one run of a ticket in the foreground and prints its progress.
Its sandboxes are always local agent processes on this machine (sandbox pods need the
sandbox reconciler of agent-smith serve; $SANDBOX_TYPE is not read). The pipeline comes
from the ticket's labels unless --pipeline names one.`
	runNotes = `Environment:
  REDIS_URL   the Redis to use; unset: an embedded in-memory server. With a shared Redis
              the run's keys stay apart from a serving orchestrator's ({redis_prefix}run:).

Exit status: 0 the run succeeded, 1 it failed, 2 bad usage or configuration, 3 the plan
asked questions (answer on the ticket and run again).
`
)

// progressPoll is how often the run's event stream is read for printing.
const progressPoll = 200 * time.Millisecond

// runOptions are the parsed flags of `run`.
type runOptions struct {
	file, project, ticket, pipeline, runsDir string
	verbose                                  bool
}

func parseRun(args []string, env Env, stdout, stderr io.Writer) (runOptions, error) {
	c := cmdline.New("run", "--project PROJECT --ticket ID [flags]", runSummary, env, stdout, stderr)
	c.Notes = runNotes
	var o runOptions
	c.ConfigFlag(&o.file)
	c.FS.StringVar(&o.project, "project", "", "the ticket's `PROJECT` in agentsmith.yml")
	c.FS.StringVar(&o.ticket, "ticket", "", "the `ID` of the ticket: issue number, work item id or issue key")
	c.FS.StringVar(&o.pipeline, "pipeline", "", "run pipeline `NAME` ("+strings.Join(config.Pipelines(), ", ")+") instead of the one the ticket's labels select")
	c.FS.StringVar(&o.runsDir, "runs-dir", "", "keep the run's artifacts in `DIR` (default orchestrator.runs_dir, else a temporary directory)")
	c.FS.BoolVar(&o.verbose, "verbose", false, "log what the orchestrator does on stderr")
	if err := c.Parse(args); err != nil {
		return o, err
	}
	switch {
	case c.FS.NArg() > 0:
		return o, c.UsageError("unexpected argument %q", c.FS.Arg(0))
	case o.file == "":
		return o, c.UsageError("no config file: pass -c FILE or set AGENTSMITH_CONFIG")
	case o.project == "" || o.ticket == "":
		return o, c.UsageError("--project and --ticket are required")
	case o.pipeline != "" && !config.IsPipeline(o.pipeline):
		return o, c.UsageError("unknown pipeline %q (want %s)", o.pipeline, strings.Join(config.Pipelines(), ", "))
	}
	return o, nil
}

// runRun implements `agent-smith run`.
func runRun(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	o, err := parseRun(args, env, stdout, stderr)
	if err != nil {
		return err
	}
	// The process holds every credential; its sandboxes run under its uid.
	if err := nodump.Apply(); err != nil {
		return cmdline.ExitWith(stderr, 3, "run: %v", err)
	}
	cfg, err := loadConfig(o.file, env, stderr)
	if err != nil {
		if errors.Is(err, cmdline.ExitError(1)) {
			return cmdline.ExitError(2)
		}
		return err
	}
	p, ok := cfg.Projects[o.project]
	if !ok {
		return cmdline.ExitWith(stderr, 2, "run: no project %q in %s", o.project, o.file)
	}
	verbosity := -1 // errors only: stdout tells the run's story
	if o.verbose {
		verbosity = 0
	}
	log := logging.New(stderr, logging.Options{Format: logging.Console, Verbosity: verbosity})
	ctx = logr.NewContext(ctx, log)

	tr, err := connect.Tracker(cfg, p.Tracker)
	if err != nil {
		return err
	}
	t, err := tr.Ticket(ctx, o.ticket)
	if err != nil {
		return fmt.Errorf("read ticket %s: %w", o.ticket, err)
	}
	sub := submission(cfg, o.project, t, o.pipeline)
	_, _ = fmt.Fprintf(stdout, "ticket %s: %s\npipeline %s on %s\n", t.ID, t.Title, sub.Pipeline, strings.Join(sub.Repos, ", "))

	conn, err := openRedis(env)
	if err != nil {
		return err
	}
	defer conn.Close()
	dir := o.runsDir
	if dir == "" {
		dir = runsDirFor(cfg.Orchestrator.RunsDir)
	}
	final, err := executeOne(ctx, cfg, conn, o.file, dir, sub, stdout, stderr)
	if err != nil {
		return err
	}
	return report(final, dir, stdout, stderr)
}

// executeOne submits sub and executes it with one worker and local
// sandboxes in this process, printing its progress, and returns the run as
// it ended. With a shared Redis its keys stay apart from a serving
// orchestrator's.
func executeOne(ctx context.Context, cfg *config.Config, conn *redisConn, configPath, runsDir string, sub runs.Submission, stdout, stderr io.Writer) (runs.Run, error) {
	prefix := cfg.Queue.RedisPrefix
	if !conn.Embedded {
		prefix += "run:"
	}
	store, err := newRunStore(conn.Client, cfg, prefix, nil)
	if err != nil {
		return runs.Run{}, err
	}
	prov, err := localSandboxes(cfg, logr.FromContextOrDiscard(ctx))
	if err != nil {
		return runs.Run{}, err
	}
	defer func() { _ = prov.Close() }()
	pipe, err := newPipeline(pipelineParts{Config: func() *config.Config { return cfg }, ConfigPath: configPath,
		Store: store, Provisioner: prov, RunsDir: runsDir})
	if err != nil {
		return runs.Run{}, err
	}
	res, err := store.Submit(ctx, sub)
	if err != nil {
		return runs.Run{}, err
	}
	if res.Outcome != runs.OutcomeQueued {
		return runs.Run{}, cmdline.ExitWith(stderr, 1, "run: ticket %s already has run %s", sub.Ticket, res.RunID)
	}
	_, _ = fmt.Fprintf(stdout, "run %s\n", res.RunID)

	host, _ := os.Hostname()
	owner := runs.Owner{Name: fmt.Sprintf("run-%s-%d", host, os.Getpid())}
	workers := worker.NewWorkers(store, pipe, owner, 1, logr.FromContextOrDiscard(ctx), nil)
	finalizer := worker.NewFinalizer(store, pipe, owner.Name, worker.FinalizerOptions{Loops: 1}, logr.FromContextOrDiscard(ctx), nil)
	wctx, stopWorkers := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var both sync.WaitGroup
		both.Go(func() { _ = workers.Start(wctx) })
		both.Go(func() { _ = finalizer.Start(wctx) })
		both.Wait()
	}()
	final, err := follow(ctx, store, res.RunID, stdout)
	stopWorkers()
	<-stopped
	return final, err
}

// submission is the run for ticket t of project: its pipeline from the
// ticket's labels (or the override), the project's repositories and the
// trigger's done status.
func submission(cfg *config.Config, project string, t trackers.Ticket, override string) runs.Submission {
	p := cfg.Projects[project]
	labels := slices.DeleteFunc(slices.Clone(t.Labels), trackers.IsLifecycleLabel)
	pipe := override
	if pipe == "" {
		pipe = cfg.PipelineFor(project, labels)
	}
	sub := runs.Submission{
		Project: project, Pipeline: pipe, Tracker: p.Tracker, Ticket: t.ID, TicketURL: t.URL, TicketTitle: t.Title,
		Labels: labels, Repos: slices.Clone(p.Repos), Trigger: "agent-smith run",
	}
	if trig := p.Trigger(); trig != nil {
		sub.DoneStatus = trig.DoneStatus
	}
	return sub
}

// follow prints the run's progress lines until it stops being active or
// queued (and, once it ended, until its ticket was told), and returns it
// as it ended.
func follow(ctx context.Context, store *runs.Store, id string, stdout io.Writer) (runs.Run, error) {
	tick := time.NewTicker(progressPoll)
	defer tick.Stop()
	after := ""
	for {
		lines, err := store.Events(ctx, id, after, 0)
		if err != nil {
			return runs.Run{}, err
		}
		for _, l := range lines {
			after = l.ID
			_, _ = fmt.Fprintf(stdout, "%s  %s\n", l.Time.Local().Format("15:04:05"), l)
		}
		r, err := store.Get(ctx, id)
		if err != nil {
			return runs.Run{}, err
		}
		if len(lines) == 0 && (r.State.Terminal() && r.Finalize != runs.FinalizePending || r.State == runs.StateAwaitingInput) {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return runs.Run{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// report prints how the run ended and turns it into the exit status.
func report(r runs.Run, runsDir string, stdout, stderr io.Writer) error {
	for _, repo := range slices.Sorted(maps.Keys(r.PullRequests)) {
		_, _ = fmt.Fprintf(stdout, "pull request %s: %s\n", repo, r.PullRequests[repo])
	}
	_, _ = fmt.Fprintf(stdout, "model usage: %d input and %d output tokens, $%.4f\n", r.Usage.InputTokens, r.Usage.OutputTokens, r.Usage.CostUSD)
	_, _ = fmt.Fprintf(stdout, "artifacts: %s\n", runsDir+string(os.PathSeparator)+r.ID)
	switch r.State {
	case runs.StateSucceeded:
		_, _ = fmt.Fprintf(stdout, "run %s succeeded\n", r.ID)
		return nil
	case runs.StateAwaitingInput:
		_, _ = fmt.Fprintf(stdout, "run %s is waiting for answers to its questions:\n", r.ID)
		for _, q := range r.Questions.Asked {
			_, _ = fmt.Fprintf(stdout, "  - %s\n", q)
		}
		_, _ = fmt.Fprintln(stdout, "answer on the ticket, then run again")
		return cmdline.ExitError(3)
	}
	return cmdline.ExitWith(stderr, 1, "run %s %s: %s", r.ID, r.State, r.Error)
}
