package intake

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agent-smith/agent-smith/trackers"
)

// Poller runs on the leader only: one poll loop per tracker with polling
// enabled, each at its interval with jitter and a timeout per poll. A new
// configuration restarts the loops with the new trackers.
type Poller struct {
	current *trackers.Current
	runs    Runs
	log     logr.Logger
	polls   *prometheus.CounterVec
	notices *notices
}

// NewPoller returns a poller over the trackers of current that queues work
// in rs.
func NewPoller(current *trackers.Current, rs Runs, log logr.Logger, reg prometheus.Registerer) *Poller {
	p := &Poller{current: current, runs: rs, log: log.WithName("poller"), notices: newNotices(),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentsmith_polls_total",
			Help: "Tracker polls by tracker and outcome (ok, error).",
		}, []string{"tracker", "outcome"})}
	if reg != nil {
		reg.MustRegister(p.polls)
	}
	return p
}

// NeedLeaderElection is true: only the leader polls.
func (p *Poller) NeedLeaderElection() bool { return true }

// Start polls until ctx ends.
func (p *Poller) Start(ctx context.Context) error {
	for {
		snap, changed := p.current.Load()
		loops, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, name := range slices.Sorted(maps.Keys(snap.Trackers)) {
			t := snap.Config.Trackers[name]
			if t == nil || !t.Polling.Enabled {
				continue
			}
			wg.Go(func() { p.loop(loops, snap, name) })
		}
		select {
		case <-ctx.Done():
			cancel()
			wg.Wait()
			return nil
		case <-changed:
			p.log.Info("configuration changed, restarting poll loops")
			cancel()
			wg.Wait()
		}
	}
}

// loop polls one tracker until ctx ends: at once, then every interval
// ±jitter so replicas' and trackers' polls do not line up.
func (p *Poller) loop(ctx context.Context, snap *trackers.Snapshot, name string) {
	cfg := snap.Config.Trackers[name].Polling
	log := p.log.WithValues("tracker", name)
	log.Info("polling", "interval", cfg.Interval(), "jitterPercent", cfg.JitterPercent)
	for {
		p.pollOnce(logr.NewContext(ctx, log), snap, name)
		wait := jitter(cfg.Interval(), cfg.JitterPercent)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (p *Poller) pollOnce(ctx context.Context, snap *trackers.Snapshot, name string) {
	ctx, cancel := context.WithTimeout(ctx, snap.Config.Trackers[name].Polling.Timeout())
	defer cancel()
	res, err := Poll(ctx, snap.Config, name, snap.Trackers[name], p.runs)
	log := logr.FromContextOrDiscard(ctx)
	if err != nil {
		p.polls.WithLabelValues(name, "error").Inc()
		log.Error(err, "poll failed")
		return
	}
	p.polls.WithLabelValues(name, "ok").Inc()
	for _, s := range res.Skipped {
		p.notices.log(log.WithValues("ticket", s.Ticket), name, s.Ticket, s.What, s.Reason)
	}
	log.V(1).Info("polled", "candidates", res.Candidates, "queued", len(res.Queued), "active", res.Active,
		"unmatched", res.Unmatched, "notNew", res.NotNew, "capped", res.Capped)
}

// jitter spreads d by ±percent.
func jitter(d time.Duration, percent int) time.Duration {
	if percent <= 0 {
		return d
	}
	spread := float64(d) * float64(percent) / 100
	return d + time.Duration((rand.Float64()*2-1)*spread)
}
