package pipeline_test

import (
	"context"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/runs/pipeline"
	"github.com/agent-smith/agent-smith/trackers"
)

func TestCancelOnAnotherReplicaStopsTheRunningStepAndReleasesTheSandbox(t *testing.T) {
	g := NewWithT(t)
	// The tests never end: only the cancel can stop the test step.
	w := newWorld(t, "fix-bug.yaml", "test_command: sleep 600")
	n := w.issue()
	id := w.label(n)
	g.Eventually(func() string { return w.run(id).Step }, time.Minute, 20*time.Millisecond).Should(Equal(pipeline.StepTest),
		func() string { return w.progress(id) })
	g.Expect(os.ReadDir(w.boxes)).NotTo(BeEmpty(), "the sandbox works")

	// Another replica's store (the API's) calls the run off.
	other, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: w.prefix})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = other.Cancel(context.Background(), id, "alice", "not this one")
	g.Expect(err).NotTo(HaveOccurred())
	// The owner learns it from the cancel channel, not from its heartbeat:
	// its step is stopped and its sandbox gone before the next one is due.
	g.Eventually(func() ([]os.DirEntry, error) { return os.ReadDir(w.boxes) }).
		WithTimeout(w.store.HeartbeatInterval() / 2).WithPolling(20 * time.Millisecond).Should(BeEmpty())

	r := w.await(id, runs.StateCancelled)
	g.Expect(r.Step).To(Equal(pipeline.StepTest))
	g.Expect(w.issueState(n).Labels).To(ContainElement(trackers.LifecycleCancelled.Label()))
	w.expectNothingLeft()
}
