package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/tools"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/skills"
	"github.com/agent-smith/agent-smith/trackers"
)

// errParked ends the step loop after the run parked in awaiting_input.
var errParked = errors.New("run parked awaiting input")

// stepFunc is one step of a preset.
type stepFunc func(j *job, ctx context.Context) error

var stepFuncs = map[string]stepFunc{
	StepTicket:       (*job).fetchTicket,
	StepProvision:    (*job).provision,
	StepCheckout:     (*job).checkoutAll,
	StepContext:      (*job).loadContext,
	StepPlan:         (*job).planWork,
	StepExecute:      (*job).execute,
	StepWriteTests:   (*job).writeTests,
	StepTest:         (*job).test,
	StepWriteDocs:    (*job).writeDocs,
	StepReview:       (*job).review,
	StepBootstrap:    (*job).bootstrap,
	StepPush:         (*job).push,
	StepPullRequests: (*job).pullRequests,
	StepFinalize:     (*job).finalize,
}

// job is one execution (a start) of a run.
type job struct {
	p       *Pipeline
	cfg     *config.Config
	project *config.Project
	run     runs.Run
	lease   *runs.Lease
	log     logr.Logger

	tracker trackers.Tracker
	ticket  trackers.Ticket
	catalog *skills.Catalog
	budget  *llm.Budget
	// recorded is the part of the budget's usage already added to the run.
	recorded llm.Usage
	recCost  float64

	repos     []*repo
	sandboxes map[string]sandbox.Sandbox
	released  bool
	secrets   []string

	// mu guards steps' notes, written by steps working on repositories
	// at once.
	mu      sync.Mutex
	steps   []stepRecord
	current int

	// principles and context are the repositories' context files, for
	// the prompts.
	principles string
	context    string

	toolset  *tools.Toolset
	plan     *Plan
	planText string
	// nothingToDo is set by a plan without steps: the run skips to finalize.
	nothingToDo bool
	// history is the execution conversation, continued by fixups;
	// conversation frames the ticket's text in all of it.
	history      []llm.Message
	conversation frames
	summary      string
	decisions    []llm.Decision
	minor        []Finding
	published    bool
	// pushedBefore is set when an earlier execution of this run already
	// pushed its branch (a transition Redis lost made the run go again):
	// the job goes from checkout straight to the pull requests.
	pushedBefore bool
}

func (p *Pipeline) newJob(ctx context.Context, lease *runs.Lease) *job {
	cfg := p.deps.Config()
	run := lease.Run()
	// The workers' logger already names the run, ticket and attempt.
	log := logr.FromContextOrDiscard(ctx)
	j := &job{p: p, cfg: cfg, run: run, lease: lease, log: log, project: cfg.Projects[run.Project], current: -1}
	for _, v := range cfg.Secrets {
		// Real credentials are long; a short value would garble words.
		if len(v) >= 8 {
			j.secrets = append(j.secrets, v)
		}
	}
	slices.SortFunc(j.secrets, func(a, b string) int { return len(b) - len(a) })
	j.budget = remainingBudget(cfg.Limits, run.Usage)
	p.models.prune(p.deps.Now().Add(-time.Duration(max(cfg.Queue.RetentionHours, 1)) * time.Hour))
	return j
}

// remainingBudget is the run's caps less what its earlier attempts spent.
func remainingBudget(l config.Limits, spent runs.Usage) *llm.Budget {
	usd, tokens := l.MaxCostUSDPerRun, l.MaxTokensPerRun
	if usd > 0 {
		// A cap already reached stays a cap: the smallest positive amount
		// refuses the next call.
		usd = max(usd-spent.CostUSD, 1e-9)
	}
	if tokens > 0 {
		tokens = max(tokens-int(spent.InputTokens+spent.OutputTokens), 1)
	}
	return llm.NewBudget(usd, tokens)
}

func (j *job) initSteps(names []string) {
	j.steps = make([]stepRecord, len(names))
	for i, n := range names {
		j.steps[i] = stepRecord{Name: n, State: stepPending}
	}
}

func (j *job) has(step string) bool {
	return slices.ContainsFunc(j.steps, func(s stepRecord) bool { return s.Name == step })
}

// runStep runs one step with its bookkeeping: the run's step field, a
// progress line at its start and end, the status comment, the usage.
func (j *job) runStep(ctx context.Context, name string) error {
	j.current = slices.IndexFunc(j.steps, func(s stepRecord) bool { return s.Name == name })
	rec := &j.steps[j.current]
	if j.skips(name) {
		rec.State = stepSkipped
		if name == StepPush && j.pushedBefore {
			return j.resumePublished(ctx)
		}
		return nil
	}
	rec.State, rec.Started = stepRunning, j.p.deps.Now()
	if _, err := j.lease.Update(ctx, runs.Update{Step: name, AddUsage: j.usageDelta(), Steps: j.stepRecords()}); err != nil {
		return err
	}
	j.record(ctx, runs.Entry{Kind: runs.KindPhase, Phase: &runs.Phase{Name: name, Status: runs.PhaseStarted}})
	j.editStatus(ctx)
	err := stepFuncs[name](j, ctx)
	rec.Took = j.p.deps.Now().Sub(rec.Started)
	if err != nil {
		return err
	}
	if rec.State == stepRunning {
		rec.State = stepDone
	}
	j.record(ctx, runs.Entry{Kind: runs.KindPhase, Phase: &runs.Phase{Name: name, Status: runs.PhaseEnded, Duration: runs.Duration(rec.Took)}})
	return nil
}

// skips reports whether step name is skipped: a plan with nothing to do
// goes to finalize; a run whose branch an earlier execution already pushed
// goes from checkout to the pull requests.
func (j *job) skips(name string) bool {
	switch {
	case j.nothingToDo:
		return name != StepFinalize
	case j.pushedBefore:
		return !slices.Contains([]string{StepTicket, StepProvision, StepCheckout, StepPullRequests, StepFinalize}, name)
	}
	return false
}

// resumePublished takes the place of the push step for a run whose branch
// an earlier execution pushed: the run is publishing again, and the
// repositories it pushed have work.
func (j *job) resumePublished(ctx context.Context) error {
	if _, err := j.lease.Apply(ctx, runs.EventPublish, runs.Update{}); err != nil {
		return err
	}
	j.published = true
	for _, r := range j.repos {
		if r.pushedBefore {
			r.hasWork, r.pushed = true, true
			j.progress(ctx, "%s: %s was pushed by an earlier execution of this run", r.name, r.branch)
		}
	}
	return nil
}

func (j *job) stepName() string {
	if j.current < 0 {
		return ""
	}
	return j.steps[j.current].Name
}

// note records what happened in the current step worth a reader's
// attention: in its entry of the status comment and the result, and in
// the event stream. Steps working on repositories at once call it
// concurrently.
func (j *job) note(ctx context.Context, format string, args ...any) {
	msg := j.scrub(fmt.Sprintf(format, args...))
	j.mu.Lock()
	if j.current >= 0 {
		j.steps[j.current].Notes = append(j.steps[j.current].Notes, msg)
	}
	j.mu.Unlock()
	j.progress(ctx, "%s", msg)
}

// progress records a line of prose in the run's transcript.
func (j *job) progress(ctx context.Context, format string, args ...any) {
	j.record(ctx, runs.Entry{Kind: runs.KindNote, Message: fmt.Sprintf(format, args...)})
}

// record appends e, scrubbed of the configuration's secrets, to the run's
// transcript at the current step, and logs its line at info: the
// transcript, the page and kubectl logs tell the same story. Steps working
// on repositories at once call it concurrently.
func (j *job) record(ctx context.Context, e runs.Entry) {
	e = j.scrubEntry(e)
	if e.Step == "" {
		e.Step = j.stepName()
	}
	j.log.Info(e.String(), "step", e.Step, "kind", string(e.Kind))
	switch err := j.lease.Record(ctx, e); {
	case err == nil || ctx.Err() != nil:
	case errors.Is(err, runs.ErrLeaseLost):
		// The run ended or moved on (the finalize step's end comes after
		// the run's own): the log refuses a stale owner's entries.
		j.log.V(1).Info("the run's transcript took no more entries of this execution", "step", e.Step, "err", err.Error())
	default:
		j.log.Error(err, "recording in the run's transcript failed", "step", e.Step)
	}
}

// scrub removes the configuration's secret values from text that leaves
// the process (comments, progress, errors).
func (j *job) scrub(s string) string {
	for _, v := range j.secrets {
		s = strings.ReplaceAll(s, v, "<redacted>")
	}
	return s
}

// usageDelta is the usage not yet added to the run, marked as added.
func (j *job) usageDelta() runs.Usage {
	r := j.budget.Report()
	d := runs.Usage{
		InputTokens:  int64(r.Usage.InputTokens - j.recorded.InputTokens),
		OutputTokens: int64(r.Usage.OutputTokens - j.recorded.OutputTokens),
		CostUSD:      r.CostUSD - j.recCost,
	}
	j.recorded, j.recCost = r.Usage, r.CostUSD
	return d
}

// model returns the run's model of slot.
func (j *job) model(ctx context.Context, slot llm.Slot) (*llm.Model, error) {
	return j.p.models.get(ctx, j.run.ID, slot, j.p.deps.Now(), func(ctx context.Context) (*llm.Model, error) {
		return j.p.deps.Models(ctx, j.cfg, j.project.Agent, slot, j.run.ID)
	})
}

// release stops the run's sandboxes once.
func (j *job) release(ctx context.Context) { j.releaseBy(ctx, j.p.deps.Provisioner.Release) }

// releaseFailed is release for a failed run: a backend that keeps a
// failed run's sandboxes for inspection (sandbox.FailedReleaser) may.
func (j *job) releaseFailed(ctx context.Context) {
	if k, ok := j.p.deps.Provisioner.(sandbox.FailedReleaser); ok {
		j.releaseBy(ctx, k.ReleaseFailed)
		return
	}
	j.release(ctx)
}

func (j *job) releaseBy(ctx context.Context, release func(context.Context, string) error) {
	if j.released || j.sandboxes == nil {
		return
	}
	j.released = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := release(ctx, j.run.ID); err != nil {
		j.log.Error(err, "releasing the sandboxes failed")
	}
}

// abandoned reports whether err means the run is no longer this
// execution's to finish: its context ended, its lease is lost or expired,
// or Redis did not answer one of its writes (the worker hands it back).
func (j *job) abandoned(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, runs.ErrLeaseLost) || errors.Is(err, runs.ErrNotFound) ||
		errors.Is(err, runs.ErrLeaseExpired) || errors.Is(err, runs.ErrUnreachable)
}

// abandon stops work on a run that another execution (or nobody, for
// now) will carry on: sandboxes go, the ticket and the run are left alone.
func (j *job) abandon(ctx context.Context, err error) error {
	j.log.Info("stopping the run's work", "step", j.stepName(), "reason", err.Error())
	j.release(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// fail ends the run at step: the unfinished work is pushed to a WIP branch
// and the run failed with "step <name>: <reason>" and its outcome; the
// finalizer then comments the failure and marks the ticket failed.
func (j *job) fail(ctx context.Context, step string, cause error) error {
	reason := j.scrub(cause.Error())
	var took time.Duration
	if i := slices.IndexFunc(j.steps, func(s stepRecord) bool { return s.Name == step }); i >= 0 {
		j.current = i
		j.steps[i].State = stepFailed
		j.steps[i].Notes = append(j.steps[i].Notes, reason)
		took = j.steps[i].Took
	}
	// The failure is written even if this execution's context is ending.
	ctx = context.WithoutCancel(ctx)
	j.record(ctx, runs.Entry{Kind: runs.KindPhase, Step: step, Message: reason,
		Phase: &runs.Phase{Name: step, Status: runs.PhaseFailed, Duration: runs.Duration(took)}})
	wip := j.pushWIP(ctx, step)
	j.releaseFailed(ctx)
	outcome := outcome{State: runs.StateFailed, Step: step, Reason: reason, WIP: wip}
	j.keepArtifacts(ctx, outcome)
	j.p.models.forget(j.run.ID)
	msg := fmt.Sprintf("step %s: %s", step, reason)
	if _, err := j.lease.Apply(ctx, runs.EventFail, runs.Update{Step: step, Error: msg, AddUsage: j.usageDelta(),
		Steps: j.stepRecords(), Outcome: j.runOutcome(outcome)}); err != nil {
		return errors.Join(errors.New(msg), fmt.Errorf("record the failure: %w", err))
	}
	return errors.New(msg)
}

// stepRecords are the steps as the run records them.
func (j *job) stepRecords() []runs.StepRecord {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]runs.StepRecord, len(j.steps))
	for i, s := range j.steps {
		out[i] = runs.StepRecord{Name: s.Name, State: string(s.State), TookMS: s.Took.Milliseconds(), Notes: slices.Clone(s.Notes)}
	}
	return out
}

// runOutcome is what the run records about how this execution ended, for
// the finalizer's comments.
func (j *job) runOutcome(o outcome) *runs.RunOutcome {
	ro := &runs.RunOutcome{Step: o.Step, Reason: o.Reason, WIP: o.WIP}
	for _, r := range j.results() {
		ro.Repos = append(ro.Repos, runs.RepoResult(r))
	}
	if j.catalog != nil {
		ro.Skills = j.catalog.String()
	}
	return ro
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// repoNames lists the names of repos.
func repoNames(rs []*repo) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.name
	}
	return out
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
