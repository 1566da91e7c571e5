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
	store RunCounter
	log   logr.Logger
	desc  *prometheus.Desc
}

// NewRunsCollector returns the collector of agentsmith_runs over store.
func NewRunsCollector(store RunCounter, log logr.Logger) *RunsCollector {
	return &RunsCollector{store: store, log: log.WithName("metrics"), desc: prometheus.NewDesc(
		"agentsmith_runs", "Runs that are not finished, by state (queued, provisioning, running, publishing, awaiting_input), across all replicas.",
		[]string{"state"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *RunsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. When Redis does not answer in
// time the gauge is left out of the scrape (and /readyz says why) rather
// than failing the replica's other metrics.
func (c *RunsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.store.Count(ctx)
	if err != nil {
		c.log.V(1).Info("counting runs for the metrics failed", "error", err.Error())
		return
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), string(st))
	}
}
