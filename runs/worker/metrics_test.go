package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
)

// runsGauge gathers reg and returns agentsmith_runs by state.
func runsGauge(g Gomega, reg *prometheus.Registry) map[string]float64 {
	families, err := reg.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "agentsmith_runs" {
			continue
		}
		for _, m := range f.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestRunsGaugeCountsTheRunsThatWaitOrWorkAtScrapeTime(t *testing.T) {
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	store := newStore(t, testenv.SharedRedis(t).URL(), fastQueue)
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewRunsCollector(store, testr.New(t)))

	submitRun(t, store, "41")
	submitRun(t, store, "42")
	lease, err := store.Dequeue(context.Background(), runs.Owner{Name: "replica-a"})
	g.Expect(err).NotTo(HaveOccurred())
	defer lease.Close()

	g.Expect(runsGauge(g, reg)).To(Equal(map[string]float64{
		"queued": 1, "starting": 1, "provisioning": 0, "running": 0, "publishing": 0, "awaiting_input": 0,
	}))
}

// brokenCounter is a run store that cannot be reached.
type brokenCounter struct{}

func (brokenCounter) Count(context.Context) (map[runs.State]int64, error) {
	return nil, errors.New("dial tcp 10.0.0.9:6379: connect: connection refused")
}

func TestRunsGaugeIsLeftOutWhenRedisIsOutOfReachAndTheRestIsScraped(t *testing.T) {
	g := NewWithT(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewRunsCollector(brokenCounter{}, testr.New(t)))
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "agentsmith_other_total", Help: "Another metric."})
	reg.MustRegister(other)

	families, err := reg.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(families).To(ConsistOf(
		HaveField("Name", HaveValue(Equal("agentsmith_other_total"))),
		And(HaveField("Name", HaveValue(Equal("agentsmith_redis_up"))), HaveField("Metric", ConsistOf(HaveField("Gauge.Value", HaveValue(BeZero()))))),
	), "agentsmith_redis_up says why")
}

func TestLeaderGaugeIsOneWhileTheReplicaLeads(t *testing.T) {
	g := NewWithT(t)
	reg := prometheus.NewRegistry()
	l := NewLeaderGauge(reg)
	value := func() float64 {
		families, err := reg.Gather()
		g.Expect(err).NotTo(HaveOccurred())
		return families[0].GetMetric()[0].GetGauge().GetValue()
	}
	g.Expect(value()).To(BeZero())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Start(ctx) }()
	g.Eventually(value).Should(Equal(1.0))
	cancel()
	g.Eventually(done).Should(Receive(BeNil()))
	g.Expect(value()).To(BeZero())
	g.Expect(l.NeedLeaderElection()).To(BeTrue())
}

// finishWithUsage finishes every run, booking model usage as it goes.
type finishWithUsage struct{}

func (finishWithUsage) Execute(ctx context.Context, l *runs.Lease) error {
	u := runs.Update{AddUsage: runs.Usage{InputTokens: 1200, OutputTokens: 80, CostUSD: 0.05}}
	for _, ev := range []runs.Event{runs.EventReady, runs.EventPublish, runs.EventSucceed} {
		if _, err := l.Apply(ctx, ev, u); err != nil {
			return err
		}
		u.AddUsage = runs.Usage{}
	}
	return nil
}

func TestAFinishedRunRecordsItsDurationTokensAndCost(t *testing.T) {
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	store := newStore(t, testenv.SharedRedis(t).URL(), fastQueue)
	w := NewWorkers(store, finishWithUsage{}, runs.Owner{Name: "replica-a"}, 1, testr.New(t), prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	submitRun(t, store, "43")
	g.Eventually(func(g Gomega) {
		m := &dto.Metric{}
		g.Expect(w.metrics.duration.WithLabelValues("fix-bug", "succeeded").(prometheus.Metric).Write(m)).To(Succeed())
		g.Expect(m.GetHistogram().GetSampleCount()).To(Equal(uint64(1)))
		g.Expect(counterValue(w.metrics.tokens.WithLabelValues("todo", "input"))).To(Equal(1200.0))
		g.Expect(counterValue(w.metrics.tokens.WithLabelValues("todo", "output"))).To(Equal(80.0))
		g.Expect(counterValue(w.metrics.cost.WithLabelValues("todo"))).To(BeNumerically("~", 0.05, 1e-9))
	}).WithTimeout(20 * time.Second).Should(Succeed())
}
