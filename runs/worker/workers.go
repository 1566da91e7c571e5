package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agent-smith/agent-smith/runs"
)

// Executor carries the run of one lease from its start to its end. It
// applies the run's own transitions (ready, publish, succeed, fail, await
// input) through the lease, guards its side effects with it, and returns
// once the run has left the active states. When ctx ends first (a drain
// ran out of grace, the lease was lost or expired) it returns ctx's error
// promptly and leaves the run as it is; the worker decides what follows.
type Executor interface {
	Execute(ctx context.Context, lease *runs.Lease) error
}

// Queue is the part of the run store the workers use.
type Queue interface {
	Dequeue(ctx context.Context, owner runs.Owner) (*runs.Lease, error)
	HandBack(ctx context.Context, id string, fence int64) (runs.Run, error)
	Apply(ctx context.Context, id string, ev runs.Event, u runs.Update) (runs.Run, error)
	Get(ctx context.Context, id string) (runs.Run, error)
	Stopped(ctx context.Context, id string, fence int64) error
	Submit(ctx context.Context, sub runs.Submission) (runs.SubmitResult, error)
	HeartbeatInterval() time.Duration
}

// Workers execute queued runs on this replica, up to Parallel at once. They
// run on every replica (not only the leader).
//
// Stopping is a drain: Drain (or the end of Start's context) stops taking
// new runs at once, lets the runs in flight finish within the grace period,
// then cancels them and hands each back to the queue, where another replica
// takes it immediately instead of after a heartbeat timeout.
type Workers struct {
	queue    Queue
	executor Executor
	owner    runs.Owner
	parallel int
	log      logr.Logger
	metrics  *workerMetrics

	stopTaking context.CancelFunc
	takeCtx    context.Context
	inFlight   sync.WaitGroup
	// cancelRuns ends the contexts of the runs in flight.
	cancelRuns context.CancelFunc
	runCtx     context.Context
	drainOnce  sync.Once
	drained    chan struct{}
}

// NewWorkers returns workers that take runs from q as owner and execute
// them with ex, parallel at a time.
func NewWorkers(q Queue, ex Executor, owner runs.Owner, parallel int, log logr.Logger, reg prometheus.Registerer) *Workers {
	take, stopTaking := context.WithCancel(context.Background())
	runCtx, cancelRuns := context.WithCancel(context.Background())
	return &Workers{
		queue: q, executor: ex, owner: owner, parallel: max(parallel, 1),
		log: log.WithName("workers"), metrics: newWorkerMetrics(reg),
		takeCtx: take, stopTaking: stopTaking, runCtx: runCtx, cancelRuns: cancelRuns,
		drained: make(chan struct{}),
	}
}

// NeedLeaderElection is false: every replica executes runs.
func (w *Workers) NeedLeaderElection() bool { return false }

// Start runs the workers until ctx ends or Drain completes. When ctx ends
// without a Drain, in-flight runs are handed back at once.
func (w *Workers) Start(ctx context.Context) error {
	w.log.Info("taking runs", "owner", w.owner.Name, "parallel", w.parallel)
	var loops sync.WaitGroup
	for range w.parallel {
		loops.Go(w.loop)
	}
	select {
	case <-ctx.Done():
		w.Drain(0)
	case <-w.drained:
	}
	loops.Wait()
	return nil
}

// Drain stops taking runs, waits up to grace for the runs in flight to end,
// then cancels them and hands them back. It returns when every run has
// ended or been handed back; later calls return at once.
func (w *Workers) Drain(grace time.Duration) {
	w.drainOnce.Do(func() {
		defer close(w.drained)
		w.stopTaking()
		done := make(chan struct{})
		go func() { w.inFlight.Wait(); close(done) }()
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-done:
			w.log.Info("drained: no run in flight")
			return
		case <-timer.C:
		}
		w.log.Info("grace period over, handing unfinished runs back", "grace", grace)
		w.cancelRuns()
		<-done
	})
}

func (w *Workers) loop() {
	for {
		lease, err := w.queue.Dequeue(w.takeCtx, w.owner)
		switch {
		case w.takeCtx.Err() != nil:
			return
		case err != nil:
			w.log.Error(err, "taking a run from the queue failed, retrying")
			w.pause(time.Second)
			continue
		}
		w.inFlight.Add(1)
		w.execute(lease)
		w.inFlight.Done()
	}
}

// pause waits d unless the workers are told to stop taking runs.
func (w *Workers) pause(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.takeCtx.Done():
	case <-t.C:
	}
}

// execute runs one dequeued run under its lease and settles what the
// executor leaves behind. A lost lease (the run left the active states, or
// another start owns it) or an expired one (Redis did not confirm it in
// time) ends the execution early.
func (w *Workers) execute(lease *runs.Lease) {
	defer lease.Close()
	run := lease.Run()
	log := w.log.WithValues("run", run.ID, "ticket", run.Ticket, "attempt", run.Attempt, "fence", run.Fence)
	ctx := lease.Bind(logr.NewContext(w.runCtx, log))
	keep, stopKeeping := context.WithCancel(ctx)
	go func() { _ = lease.Keep(keep) }()

	w.metrics.inFlight.Inc()
	defer w.metrics.inFlight.Dec()
	log.Info("executing run", "project", run.Project, "pipeline", run.Pipeline, "repos", run.Repos)
	err := w.executor.Execute(ctx, lease)
	stopKeeping()

	// The run's own context is gone; settling must still reach Redis.
	settleCtx := logr.NewContext(context.Background(), log)
	current, found, ok := w.readBack(settleCtx, run.ID)
	if !ok {
		log.Info("Redis did not answer before the drain ended; the run is reclaimed once its heartbeat lapses")
		return
	}
	outcome := w.settle(settleCtx, lease, current, found, err)
	if outcome == settleLost {
		return
	}
	if serr := w.queue.Stopped(settleCtx, run.ID, run.Fence); serr != nil {
		log.Error(serr, "recording that this replica stopped working on the run failed; the finalizer waits for the lease to run out")
	}
}

// readBack reads the run after its execution. While Redis does not answer
// (an outage, the lease expired with it) it keeps asking, until the drain's
// grace is over; ok is false then.
func (w *Workers) readBack(ctx context.Context, id string) (run runs.Run, found, ok bool) {
	wait := 50 * time.Millisecond
	for {
		run, err := w.queue.Get(ctx, id)
		switch {
		case err == nil:
			return run, true, true
		case errors.Is(err, runs.ErrNotFound):
			return runs.Run{}, false, true
		}
		logr.FromContextOrDiscard(ctx).V(1).Info("reading the run after its execution failed, retrying", "error", err.Error())
		t := time.NewTimer(wait)
		select {
		case <-w.runCtx.Done():
			t.Stop()
			return runs.Run{}, false, false
		case <-t.C:
		}
		wait = min(2*wait, w.queue.HeartbeatInterval())
	}
}

// settle carries out what decide says about the run as it is now, and
// counts and logs how the execution ended.
func (w *Workers) settle(ctx context.Context, lease *runs.Lease, current runs.Run, found bool, execErr error) settlement {
	log := logr.FromContextOrDiscard(ctx)
	run := lease.Run()
	last, lastUpdate, hasLast := lease.Last()
	// An execution its lease cut short (expired, lost) or that Redis did
	// not answer is handed back, never failed: the run did nothing wrong.
	cutShort := lease.Err() != nil || errors.Is(execErr, runs.ErrUnreachable)
	s := decide(run.Fence, lastTarget(last, hasLast), current, found, w.runCtx.Err() != nil, cutShort)
	switch s {
	case settleLost:
		log.Info("stopped executing: the run is no longer this start's", "state", current.State, "fenceNow", current.Fence, "reason", context.Cause(ctx))
		w.metrics.finished.WithLabelValues("lease_lost").Inc()
		if !found {
			w.resubmit(ctx, run)
		}
		return s
	case settleReassert:
		again, err := lease.Apply(ctx, last, lastUpdate)
		if err != nil {
			log.Error(err, "applying the run's last transition again failed", "event", last)
			w.metrics.finished.WithLabelValues("lease_lost").Inc()
			return settleLost
		}
		log.Info("applied the run's last transition again: Redis had lost it", "event", last, "state", again.State)
		current = again
		w.metrics.finished.WithLabelValues("reasserted").Inc()
	case settleHandBack:
		if _, err := w.queue.HandBack(ctx, run.ID, run.Fence); err != nil {
			log.Error(err, "handing the run back failed; it is reclaimed once its heartbeat lapses")
		} else {
			log.Info("handed the run back to the queue", "expired", lease.Expired(), "reason", errText(lease.Err(), execErr))
		}
		w.metrics.finished.WithLabelValues("handed_back").Inc()
		return s
	case settleFail:
		reason := "the pipeline ended without finishing the run"
		if execErr != nil {
			reason = execErr.Error()
		}
		if _, err := w.queue.Apply(ctx, run.ID, runs.EventFail, runs.Update{Fence: run.Fence, Error: reason}); err != nil {
			log.Error(err, "failing the run failed")
		}
		current.State = runs.StateFailed
	case settleReport:
	}
	if execErr != nil && !errors.Is(execErr, context.Canceled) {
		log.Error(execErr, "run ended with an error", "state", current.State)
	} else {
		log.Info("run ended", "state", current.State, "step", current.Step)
	}
	w.metrics.finished.WithLabelValues(string(current.State)).Inc()
	if current.State.Terminal() {
		w.metrics.ended(current)
	}
	return s
}

// resubmit brings back a run Redis lost (with its last second of writes)
// while this replica worked on it: under its own id, so that its next
// start finds the comments this one made by their marks. The ticket may
// carry a lifecycle label by now, which keeps the leader's recovery pass
// from finding it.
func (w *Workers) resubmit(ctx context.Context, run runs.Run) {
	log := logr.FromContextOrDiscard(ctx)
	res, err := w.queue.Submit(ctx, run.Resubmission())
	if err != nil {
		log.Error(err, "submitting the run Redis lost again failed; a new trigger is needed")
		return
	}
	log.Info("Redis lost the run while it was executed: submitted it again", "outcome", res.Outcome, "runNow", res.RunID)
}

// errText is the first of errs that is set, as text ("" for none).
func errText(errs ...error) string {
	for _, err := range errs {
		if err != nil {
			return err.Error()
		}
	}
	return ""
}

// lastTarget is the state the owner's last transition leads to ("" when
// it applied none).
func lastTarget(ev runs.Event, ok bool) runs.State {
	if !ok {
		return ""
	}
	for _, from := range runs.ActiveStates() {
		if to, err := runs.Transition(from, ev); err == nil {
			return to
		}
	}
	return ""
}

// settlement is what a worker does with a run once its executor returned.
type settlement int

const (
	// settleReport: the run left the active states; report where it is.
	settleReport settlement = iota
	// settleLost: the run is gone or another start owns it.
	settleLost
	// settleReassert: the run's last transition, which ended this
	// execution, was lost with Redis's last second: apply it again.
	settleReassert
	// settleHandBack: a drain cut the run short, or its lease expired
	// (Redis was unreachable); another start goes on, and the attempt
	// does not count as lost.
	settleHandBack
	// settleFail: the executor returned and left the run active.
	settleFail
)

// decide says what follows an execution of the start at fence whose last
// transition led to last ("" for none), given the run as it is now (found
// false when it no longer exists), whether this replica is draining and
// whether the execution was cut short (its lease expired or ended, or
// Redis did not answer one of its writes). A run the executor finished is reported as it
// ended, even when its heartbeat noticed first and cut the execution short.
func decide(fence int64, last runs.State, now runs.Run, found, draining, cutShort bool) settlement {
	switch {
	case !found || now.Fence != fence:
		return settleLost
	case !now.State.Active():
		return settleReport
	case last != "" && !last.Active() && last != now.State:
		return settleReassert
	case draining || cutShort:
		return settleHandBack
	default:
		return settleFail
	}
}

type workerMetrics struct {
	inFlight prometheus.Gauge
	finished *prometheus.CounterVec
	duration *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
	cost     *prometheus.CounterVec
}

// newWorkerMetrics makes the replica's worker metrics and registers them in
// reg (nil: unregistered, as for the one run of `agent-smith run`).
func newWorkerMetrics(reg prometheus.Registerer) *workerMetrics {
	m := &workerMetrics{
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agentsmith_runs_in_flight",
			Help: "Runs this replica is executing.",
		}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentsmith_run_executions_total",
			Help: "Run executions this replica ended, by how they ended (the run's state, handed_back or lease_lost).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "agentsmith_run_duration_seconds",
			Help: "Time from a run's submission to its end (queueing and waiting for answers included), by pipeline and end state.",
			// 30 s to about 4 h: a run is minutes of model and test time.
			Buckets: prometheus.ExponentialBuckets(30, 2, 10),
		}, []string{"pipeline", "state"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentsmith_llm_tokens_total",
			Help: "Model tokens of the runs that ended, by project and direction (input, output).",
		}, []string{"project", "direction"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentsmith_llm_cost_usd_total",
			Help: "Model cost in USD of the runs that ended, by project, at the configured prices.",
		}, []string{"project"}),
	}
	if reg != nil {
		reg.MustRegister(m.inFlight, m.finished, m.duration, m.tokens, m.cost)
	}
	return m
}

// ended records a run that reached its end on this replica: each run once,
// with its totals across attempts.
func (m *workerMetrics) ended(run runs.Run) {
	end := run.FinishedAt
	if end.IsZero() {
		end = time.Now()
	}
	m.duration.WithLabelValues(run.Pipeline, string(run.State)).Observe(end.Sub(run.CreatedAt).Seconds())
	m.tokens.WithLabelValues(run.Project, "input").Add(float64(run.Usage.InputTokens))
	m.tokens.WithLabelValues(run.Project, "output").Add(float64(run.Usage.OutputTokens))
	m.cost.WithLabelValues(run.Project).Add(run.Usage.CostUSD)
}
