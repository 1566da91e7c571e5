package worker

import (
	"context"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/runs"
)

// Sweeper removes leftovers of runs that no longer exist (sandbox pods, for
// the Kubernetes backend).
type Sweeper interface {
	Sweep(ctx context.Context) error
}

// Housekeeping is the part of the run store the housekeeper uses.
type Housekeeping interface {
	Reclaim(ctx context.Context, consumer string) (int, error)
	SweepOrphans(ctx context.Context) (runs.Swept, error)
	ExpireParked(ctx context.Context, olderThan time.Duration) ([]string, error)
}

// Housekeeper runs on the leader only: it recovers the runs of replicas that
// died (even when every worker is busy and none reclaims on its own),
// cancels runs parked for answers that never came, and deletes Redis keys
// and sandboxes that belong to no run.
type Housekeeper struct {
	store    Housekeeping
	consumer string
	interval time.Duration
	// parkedExpiry is how long a parked run waits for answers, as the
	// configuration in force says.
	parkedExpiry func() time.Duration
	sweepers     []Sweeper
	log          logr.Logger
}

// NewHousekeeper returns a housekeeper that works every interval, as
// consumer in the queue's group, and cancels runs parked for longer than
// parkedExpiry says.
func NewHousekeeper(store Housekeeping, consumer string, interval time.Duration, parkedExpiry func() time.Duration, log logr.Logger, sweepers ...Sweeper) *Housekeeper {
	return &Housekeeper{store: store, consumer: consumer, interval: interval, parkedExpiry: parkedExpiry,
		sweepers: sweepers, log: log.WithName("housekeeper")}
}

// NeedLeaderElection is true: one replica keeps house.
func (h *Housekeeper) NeedLeaderElection() bool { return true }

// Start keeps house every interval until ctx ends.
func (h *Housekeeper) Start(ctx context.Context) error {
	h.log.Info("keeping house", "interval", h.interval)
	tick := time.NewTicker(h.interval)
	defer tick.Stop()
	for {
		h.Once(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Once does one round of housekeeping; errors are logged, the next round
// tries again.
func (h *Housekeeper) Once(ctx context.Context) {
	if n, err := h.store.Reclaim(ctx, h.consumer); err != nil {
		h.log.Error(err, "reclaiming runs of dead replicas failed")
	} else if n > 0 {
		h.log.Info("recovered runs of dead replicas", "count", n)
	}
	if expired, err := h.store.ExpireParked(ctx, h.parkedExpiry()); err != nil {
		h.log.Error(err, "cancelling runs parked for too long failed")
	} else if len(expired) > 0 {
		h.log.Info("cancelled runs nobody answered", "runs", expired, "waited", h.parkedExpiry())
	}
	if swept, err := h.store.SweepOrphans(ctx); err != nil {
		h.log.Error(err, "sweeping orphaned Redis keys failed")
	} else if len(swept.Keys) > 0 || swept.IndexEntries > 0 {
		h.log.Info("swept orphaned Redis keys", "keys", len(swept.Keys), "indexEntries", swept.IndexEntries)
	}
	for _, s := range h.sweepers {
		if err := s.Sweep(ctx); err != nil {
			h.log.Error(err, "sweeping failed")
		}
	}
}
