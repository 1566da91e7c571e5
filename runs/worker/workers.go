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

// Executor carries one run from provisioning to its end. It applies the
// run's own transitions (ready, publish, succeed, fail, await input) and
// returns once the run has left the active states. When ctx ends first (a
// drain ran out of grace, or the lease was lost) it returns ctx's error
// promptly and leaves the run as it is; the worker decides what follows.
type Executor interface {
	Execute(ctx context.Context, run runs.Run) error
}

// Queue is the part of the run store the workers use.
type Queue interface {
	Dequeue(ctx context.Context, owner runs.Owner) (runs.Run, error)
	KeepAlive(ctx context.Context, id string, attempt int) error
	HandBack(ctx context.Context, id string, attempt int) (runs.Run, error)
	Apply(ctx context.Context, id string, ev runs.Event, u runs.Update) (runs.Run, error)
	Get(ctx context.Context, id string) (runs.Run, error)
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
		run, err := w.queue.Dequeue(w.takeCtx, w.owner)
		switch {
		case w.takeCtx.Err() != nil:
			return
		case err != nil:
			w.log.Error(err, "taking a run from the queue failed, retrying")
			w.pause(time.Second)
			continue
		}
		w.inFlight.Add(1)
		w.execute(run)
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

// execute runs one dequeued run with its heartbeat and settles what the
// executor leaves behind. A lost heartbeat (the run left the active states,
// or another attempt owns it) ends the execution early.
func (w *Workers) execute(run runs.Run) {
	log := w.log.WithValues("run", run.ID, "ticket", run.Ticket, "attempt", run.Attempt)
	ctx, cancel := context.WithCancel(logr.NewContext(w.runCtx, log))
	defer cancel()
	go func() {
		if err := w.queue.KeepAlive(ctx, run.ID, run.Attempt); err != nil {
			cancel()
		}
	}()

	w.metrics.inFlight.Inc()
	defer w.metrics.inFlight.Dec()
	log.Info("executing run", "project", run.Project, "pipeline", run.Pipeline, "repos", run.Repos)
	err := w.executor.Execute(ctx, run)
	cancel()

	// The run's own context is gone; settling must still reach Redis.
	settleCtx := logr.NewContext(context.Background(), log)
	current, gerr := w.queue.Get(settleCtx, run.ID)
	if gerr != nil && !errors.Is(gerr, runs.ErrNotFound) {
		log.Error(gerr, "reading the run after execution failed")
		return
	}
	switch settle(run, current, gerr == nil, w.runCtx.Err() != nil) {
	case settleLost:
		log.Info("stopped executing: the run is no longer ours", "state", current.State, "attemptNow", current.Attempt)
		w.metrics.finished.WithLabelValues("lease_lost").Inc()
		return
	case settleHandBack:
		if _, herr := w.queue.HandBack(settleCtx, run.ID, run.Attempt); herr != nil {
			log.Error(herr, "handing the run back failed; it is reclaimed once its heartbeat expires")
		} else {
			log.Info("handed the run back to the queue")
		}
		w.metrics.finished.WithLabelValues("handed_back").Inc()
		return
	case settleFail:
		reason := "the pipeline ended without finishing the run"
		if err != nil {
			reason = err.Error()
		}
		if _, ferr := w.queue.Apply(settleCtx, run.ID, runs.EventFail, runs.Update{Attempt: run.Attempt, Error: reason}); ferr != nil {
			log.Error(ferr, "failing the run failed")
		}
		current.State = runs.StateFailed
	case settleReport:
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error(err, "run ended with an error", "state", current.State)
	} else {
		log.Info("run ended", "state", current.State, "step", current.Step)
	}
	w.metrics.finished.WithLabelValues(string(current.State)).Inc()
	if current.State.Terminal() {
		w.metrics.ended(current)
	}
}

// settlement is what a worker does with a run once its executor returned.
type settlement int

const (
	// settleReport: the run left the active states; report where it is.
	settleReport settlement = iota
	// settleLost: the run is gone or another attempt owns it.
	settleLost
	// settleHandBack: a drain cut the run short; another replica goes on.
	settleHandBack
	// settleFail: the executor returned and left the run active.
	settleFail
)

// settle decides what follows an execution of attempt ours, given the run
// as it is now (found false when it no longer exists) and whether this
// replica is draining. A run the executor finished is reported as it ended,
// even when its heartbeat noticed first and cut the execution short.
func settle(ours, now runs.Run, found, draining bool) settlement {
	switch {
	case !found || now.Attempt != ours.Attempt:
		return settleLost
	case !now.State.Active():
		return settleReport
	case draining:
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
