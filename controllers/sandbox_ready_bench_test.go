package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/agent-smith/agent-smith/runs"
)

// BenchmarkSandboxPodReady measures what a sandbox costs to start in the
// kubelet harness, one run at a time: from its run entering provisioning
// (the reconciler creates what the sandbox needs) to Provision returning
// (the pod runs and its processes answer the orchestrator). Run with
// -benchtime Nx for N sandboxes.
func BenchmarkSandboxPodReady(b *testing.B) {
	e := startSandboxEnv(b, sandboxEnvOptions{})
	ctx := context.Background()
	var took []time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		run := e.startRun(fmt.Sprintf("acme/api#%d", 1000+i), "api")
		if _, err := e.provision(run); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
		b.StopTimer()
		if err := e.prov.Release(ctx, run.ID); err != nil {
			b.Fatal(err)
		}
		if _, err := e.store.Apply(ctx, run.ID, runs.EventFail, runs.Update{Fence: run.Fence, Error: "measured"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	slices.Sort(took)
	ms := func(p float64) float64 {
		return float64(took[int(float64(len(took)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(ms(0.5), "ready-p50-ms")
	b.ReportMetric(ms(0.9), "ready-p90-ms")
	b.ReportMetric(0, "ns/op")
}
