package worker

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agent-smith/agent-smith/runs"
)

// RunCounter is the part of the run store the runs gauge reads.
type RunCounter interface {
	Count(ctx context.Context) (map[runs.State]int64, error)
}

// RunsCollector reports how many runs wait or work, by state, as read from
// Redis at scrape time: the whole installation's numbers, the same on every
// replica, so a backlog or a pile of runs waiting for answers is visible
// (and alertable) without asking the API.
type RunsCollector struct {
	store   RunCounter
	log     logr.Logger
	desc    *prometheus.Desc
	redisUp *prometheus.Desc
}

// NewRunsCollector returns the collector of agentsmith_runs and
// agentsmith_redis_up over store.
func NewRunsCollector(store RunCounter, log logr.Logger) *RunsCollector {
	return &RunsCollector{store: store, log: log.WithName("metrics"),
		desc: prometheus.NewDesc(
			"agentsmith_runs", "Runs that are not finished, by state (queued, starting, provisioning, running, publishing, awaiting_input), across all replicas.",
			[]string{"state"}, nil),
		redisUp: prometheus.NewDesc(
			"agentsmith_redis_up", "1 when this replica's last scrape could read the run store in Redis, 0 when it could not.",
			nil, nil)}
}

// Describe implements prometheus.Collector.
func (c *RunsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.redisUp }

// Collect implements prometheus.Collector. When Redis does not answer in
// time the runs gauge is left out of the scrape (and /readyz says why)
// rather than failing the replica's other metrics, and
// agentsmith_redis_up is 0.
func (c *RunsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.store.Count(ctx)
	if err != nil {
		c.log.V(1).Info("counting runs for the metrics failed", "error", err.Error())
		ch <- prometheus.MustNewConstMetric(c.redisUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.redisUp, prometheus.GaugeValue, 1)
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), string(st))
	}
}

// LeaderGauge reports agentsmith_leader: 1 while this replica is the
// leader (it polls the trackers and keeps house), 0 otherwise. It is a
// runnable only the leader starts; summed over the replicas, the gauge
// says whether anyone leads.
type LeaderGauge struct{ gauge prometheus.Gauge }

// NewLeaderGauge returns the gauge, registered in reg.
func NewLeaderGauge(reg prometheus.Registerer) *LeaderGauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "agentsmith_leader",
		Help: "1 on the replica that holds the leader lease (tracker polls, housekeeping), 0 on the others.",
	})
	reg.MustRegister(g)
	return &LeaderGauge{gauge: g}
}

// NeedLeaderElection is true: the gauge is 1 while the replica leads.
func (l *LeaderGauge) NeedLeaderElection() bool { return true }

// Start sets the gauge until ctx ends.
func (l *LeaderGauge) Start(ctx context.Context) error {
	l.gauge.Set(1)
	<-ctx.Done()
	l.gauge.Set(0)
	return nil
}
