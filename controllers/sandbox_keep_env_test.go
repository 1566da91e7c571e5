package controllers

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestFailedRunsSandboxPodIsKeptForInspectionThenDeletedOnceItsTimeIsUp(t *testing.T) {
	g := NewWithT(t)
	clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}
	e := startSandboxEnv(t, sandboxEnvOptions{keepFailed: 30, now: clock.Now, resync: 200 * time.Millisecond})
	ctx := context.Background()
	run := e.startRun("acme/api#12", "api")
	_, err := e.provision(run)
	g.Expect(err).NotTo(HaveOccurred())

	// The pipeline's failure: the sandboxes are released, then the run
	// fails.
	g.Expect(e.prov.Release(ctx, run.ID)).To(Succeed())
	_, err = e.store.Apply(ctx, run.ID, runs.EventFail, runs.Update{Fence: run.Fence, Error: "step execute: tests fail"})
	g.Expect(err).NotTo(HaveOccurred())

	name := kube.PodName(run.ID, run.Fence, "api")
	until := clock.Now().Add(30 * time.Minute).Format(time.RFC3339)
	g.Eventually(func(g Gomega) {
		pod := e.pods(g, run.ID)[name]
		g.Expect(pod.Annotations).To(HaveKeyWithValue(kube.AnnotationKeepUntil, until))
		g.Expect(pod.OwnerReferences).To(HaveLen(1))
		g.Expect(pod.OwnerReferences[0].UID).To(Equal(e.ownerPod.UID), "still owned: a dead orchestrator's kept pods go with it")
	}).WithTimeout(30 * time.Second).Should(Succeed())
	kept := &corev1.PodList{}
	g.Expect(e.c.List(ctx, kept, client.InNamespace(e.ns), client.MatchingLabels{kube.LabelKept: "true"})).To(Succeed())
	g.Expect(kept.Items).To(HaveLen(1), "kubectl get pods -l agent-smith.dev/kept=true finds it")
	g.Eventually(e.eventMessages(name, ReasonSandboxKept)).WithTimeout(30 * time.Second).Should(ConsistOf(
		And(ContainSubstring("kept for inspection until "+until), ContainSubstring("kubectl delete pod -n "+e.ns+" "+name))))
	g.Eventually(e.secretNames(run.ID)).WithTimeout(30*time.Second).Should(BeEmpty(), "its job is released; its tokens go")
	g.Eventually(func(g Gomega) {
		pod := e.pods(g, run.ID)[name]
		g.Expect(pod.Status.Phase).To(Equal(corev1.PodSucceeded), "the agent exited on its release; nothing restarts")
	}).WithTimeout(30 * time.Second).Should(Succeed())
	g.Consistently(e.podNames(run.ID)).WithTimeout(time.Second).Should(ConsistOf(name), "kept through several resyncs")

	clock.Add(30*time.Minute + time.Second)

	g.Eventually(e.podNames(run.ID)).WithTimeout(30*time.Second).Should(BeEmpty(), "deleted once its time is up")
	g.Eventually(e.eventMessages(name, ReasonSandboxDeleted)).WithTimeout(30 * time.Second).Should(ConsistOf(
		ContainSubstring("kept for inspection until " + until + ", which has passed")))
}

// eventMessages are the messages of the events of reason about pod name.
func (e *sandboxEnv) eventMessages(name, reason string) func(Gomega) []string {
	return func(g Gomega) []string {
		list := &corev1.EventList{}
		g.Expect(e.c.List(context.Background(), list, client.InNamespace(e.ns), client.MatchingFields{"involvedObject.name": name})).To(Succeed())
		var out []string
		for _, ev := range list.Items {
			if ev.Reason == reason {
				out = append(out, ev.Message)
			}
		}
		return out
	}
}
