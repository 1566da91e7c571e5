package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agent-smith/agent-smith/runs"
)

// TicketFinalizer tells a run's ticket how the run ended (the pipeline's
// Finalize). It returns the writes it gave up on, or an error worth trying
// again later (the tracker unreachable).
type TicketFinalizer interface {
	Finalize(ctx context.Context, run runs.Run) (skipped []string, err error)
}

// FinalizeQueue is the part of the run store the finalizer uses.
type FinalizeQueue interface {
	NextFinalize(ctx context.Context, consumer string) (runs.FinalizeEntry, bool, error)
	KeepFinalizing(ctx context.Context, consumer string, e runs.FinalizeEntry) error
	Finalized(ctx context.Context, e runs.FinalizeEntry, result runs.FinalizeState, skipped string) error
	Get(ctx context.Context, id string) (runs.Run, error)
	HeartbeatTTL() time.Duration
	FinalizeLease() time.Duration
	FinalizeDeadline() time.Duration
}

// FinalizerOptions tune a Finalizer; zero values take the defaults.
type FinalizerOptions struct {
	// Loops is how many runs one replica finalizes at once (2).
	Loops int
	// Backoff is the first wait before a Finalize that failed transiently
	// is tried again (1s); it doubles up to MaxBackoff (5m).
	Backoff, MaxBackoff time.Duration
}

// Finalizer is the one place that tells a ticket how its run ended,
// whichever path ended it (the pipeline, the worker, the sandbox
// reconciler, reclaim giving up, a cancel, parked expiry): every terminal
// transition queues the run in the finalize outbox, and a Finalizer on any
// replica takes it, waits until the run's owner has stopped making side
// effects, brings the ticket to its final state and only then releases the
// ticket's claim. It runs on every replica.
type Finalizer struct {
	store    FinalizeQueue
	ticket   TicketFinalizer
	consumer string
	opts     FinalizerOptions
	log      logr.Logger
	done     *prometheus.CounterVec
}

// NewFinalizer returns a finalizer taking entries as consumer (the
// replica's name).
func NewFinalizer(store FinalizeQueue, tf TicketFinalizer, consumer string, opts FinalizerOptions, log logr.Logger, reg prometheus.Registerer) *Finalizer {
	if opts.Loops <= 0 {
		opts.Loops = 2
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	f := &Finalizer{store: store, ticket: tf, consumer: consumer, opts: opts, log: log.WithName("finalizer"),
		done: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentsmith_runs_finalized_total",
			Help: "Runs whose ticket this replica told how they ended, by result (done, gave_up: some write was given up on).",
		}, []string{"result"})}
	if reg != nil {
		reg.MustRegister(f.done)
	}
	return f
}

// NeedLeaderElection is false: every replica finalizes.
func (f *Finalizer) NeedLeaderElection() bool { return false }

// Start finalizes runs until ctx ends.
func (f *Finalizer) Start(ctx context.Context) error {
	var loops sync.WaitGroup
	for range f.opts.Loops {
		loops.Go(func() { f.loop(ctx) })
	}
	loops.Wait()
	return nil
}

func (f *Finalizer) loop(ctx context.Context) {
	for ctx.Err() == nil {
		e, ok, err := f.store.NextFinalize(ctx, f.consumer)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			f.log.Error(err, "taking a run to finalize failed, retrying")
			sleep(ctx, time.Second)
		case ok:
			f.finalize(ctx, e)
		}
	}
}

// finalize handles one outbox entry, holding it (KeepFinalizing) while it
// works so that no other replica's finalizer takes it meanwhile.
func (f *Finalizer) finalize(ctx context.Context, e runs.FinalizeEntry) {
	log := f.log.WithValues("run", e.RunID, "fence", e.Fence)
	ctx, stop := context.WithCancel(logr.NewContext(ctx, log))
	defer stop()
	go f.keep(ctx, e)

	run, err := f.settled(ctx, e)
	switch {
	case errors.Is(err, runs.ErrNotFound):
		f.record(ctx, e, runs.FinalizeDone, "")
		return
	case err != nil:
		log.V(1).Info("not finalizing now; the entry is taken again later", "reason", err.Error())
		return
	case run.Finalize != runs.FinalizePending:
		f.record(ctx, e, run.Finalize, "")
		return
	}
	skipped, err := f.tell(ctx, run)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		skipped = append(skipped, fmt.Sprintf("gave up after %s: %v", f.store.FinalizeDeadline(), err))
	}
	result := runs.FinalizeDone
	if len(skipped) > 0 {
		result = runs.FinalizeGaveUp
		log.Info("finalized the run, giving up on part of it", "skipped", skipped)
	} else {
		log.Info("told the ticket how the run ended", "state", run.State, "ticket", run.Ticket)
	}
	f.record(ctx, e, result, strings.Join(skipped, "; "))
}

// settled reads the run once its owner has stopped: it said so (stopped
// at the run's fence), or its lease has run out (a heartbeat TTL after the
// run ended), so it makes no more side effects that could land after the
// finalizer's.
func (f *Finalizer) settled(ctx context.Context, e runs.FinalizeEntry) (runs.Run, error) {
	for {
		run, err := f.store.Get(ctx, e.RunID)
		if err != nil {
			return runs.Run{}, err
		}
		wait := time.Until(run.FinishedAt.Add(f.store.HeartbeatTTL()))
		if run.Finalize != runs.FinalizePending || run.StoppedFence == run.Fence || wait <= 0 {
			return run, nil
		}
		if !sleep(ctx, min(wait, f.store.HeartbeatTTL()/10)) {
			return runs.Run{}, ctx.Err()
		}
	}
}

// tell runs the ticket finalizer, trying again with a growing wait while
// it fails transiently, until FinalizeDeadline after the run ended.
func (f *Finalizer) tell(ctx context.Context, run runs.Run) ([]string, error) {
	deadline := run.FinishedAt.Add(f.store.FinalizeDeadline())
	wait := f.opts.Backoff
	for {
		skipped, err := f.ticket.Finalize(ctx, run)
		if err == nil || time.Now().Add(wait).After(deadline) {
			return skipped, err
		}
		logr.FromContextOrDiscard(ctx).Info("telling the ticket failed, trying again", "in", wait, "error", err.Error())
		if !sleep(ctx, wait) {
			return nil, ctx.Err()
		}
		wait = min(2*wait, f.opts.MaxBackoff)
	}
}

func (f *Finalizer) record(ctx context.Context, e runs.FinalizeEntry, result runs.FinalizeState, skipped string) {
	if err := f.store.Finalized(ctx, e, result, skipped); err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "recording the run finalized failed; another finalizer takes it again")
		return
	}
	f.done.WithLabelValues(string(result)).Inc()
}

// keep renews the claim on e until ctx ends.
func (f *Finalizer) keep(ctx context.Context, e runs.FinalizeEntry) {
	for sleep(ctx, f.store.FinalizeLease()/3) {
		if err := f.store.KeepFinalizing(ctx, f.consumer, e); err != nil && ctx.Err() == nil {
			logr.FromContextOrDiscard(ctx).V(1).Info("renewing the finalize claim failed", "error", err.Error())
		}
	}
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
