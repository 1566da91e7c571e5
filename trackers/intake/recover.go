package intake

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
)

// Epochs is the part of the run store Recovery reads and marks.
type Epochs interface {
	Epoch(ctx context.Context) (runs.Epoch, error)
	MarkRecovered(ctx context.Context, since time.Time) error
	HeartbeatTTL() time.Duration
}

// recoveredTrigger is the trigger of the runs a recovery pass queues.
const recoveredTrigger = "recovered after Redis restarted or was unreachable"

// Recovery makes a webhook answered 2xx survive a Redis that lost its last
// second of writes (or a webhook answered 503 while Redis was away, which
// GitHub does not send again): after each new epoch of Redis (a restart,
// an outage) and its grace, the leader makes one pass over every tracker's
// candidates, polling enabled or not, and submits again what Redis lost.
// A ticket whose run survived is a no-op (its claim); intake never writes
// to a ticket, so a lost run's ticket has no lifecycle label yet and is a
// candidate. Keyword comments and answers are not candidates: the shipped
// Redis fsyncs every write (appendfsync always) for them.
type Recovery struct {
	current *trackers.Current
	runs    Runs
	epochs  Epochs
	log     logr.Logger
}

// NewRecovery returns the recovery of the trackers of current into rs.
func NewRecovery(current *trackers.Current, rs Runs, epochs Epochs, log logr.Logger) *Recovery {
	return &Recovery{current: current, runs: rs, epochs: epochs, log: log.WithName("recovery")}
}

// NeedLeaderElection is true: one replica makes the pass.
func (r *Recovery) NeedLeaderElection() bool { return true }

// Start looks at the epoch every third of a heartbeat TTL until ctx ends.
func (r *Recovery) Start(ctx context.Context) error {
	tick := time.NewTicker(r.epochs.HeartbeatTTL() / 3)
	defer tick.Stop()
	for {
		if err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.log.Error(err, "recovering the tickets Redis lost failed; trying again")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Once makes the pass if one is due, and marks the epoch recovered when
// every tracker was read.
func (r *Recovery) Once(ctx context.Context) error {
	e, err := r.epochs.Epoch(ctx)
	if err != nil || !e.NeedsRecovery(r.epochs.HeartbeatTTL()) {
		return err
	}
	snap, _ := r.current.Load()
	log := r.log.WithValues("epoch", e.Since, "why", e.Why)
	log.Info("Redis restarted or was unreachable: looking for tickets whose runs it lost")
	var errs []error
	queued := 0
	for _, name := range slices.Sorted(maps.Keys(snap.Trackers)) {
		res, err := poll(logr.NewContext(ctx, log), snap.Config, name, snap.Trackers[name], r.runs, recoveredTrigger)
		queued += len(res.Queued)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	log.Info("recovery pass done", "queued", queued)
	return r.epochs.MarkRecovered(ctx, e.Since)
}
