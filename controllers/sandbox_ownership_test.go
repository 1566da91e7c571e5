package controllers

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

func TestSandboxPodsCarryTheLabelsTheManagerCacheSelects(t *testing.T) {
	g := NewWithT(t)
	g.Expect([]string{kube.LabelName, kube.LabelComponent, kube.LabelManagedBy, kube.LabelPartOf, kube.LabelInstance, kube.AppName}).
		To(Equal([]string{LabelName, LabelComponent, LabelManagedBy, LabelPartOf, LabelInstance, AppName}))
	b := testBuilder(t, "ns", runs.Owner{Name: "o", UID: "u"})
	pod, err := b.Pod(sandboxTestConfig(t), kube.Spec{RunID: planRun, Attempt: 1, Project: "todo", Repo: "api", Branch: "agent-smith/1"})
	g.Expect(err).NotTo(HaveOccurred())
	var selector labels.Selector
	for obj, by := range CacheOptions("ns", "agent-smith-config").ByObject {
		if _, ok := obj.(*corev1.Pod); ok {
			selector = by.Label
		}
	}
	g.Expect(selector.Matches(labels.Set(pod.Labels))).To(BeTrue(), "the cache holds every sandbox pod")
}

func TestPodsOfUnknownAndFinishedRunsAreDeleted(t *testing.T) {
	g := NewWithT(t)
	e := startSandboxEnv(t, sandboxEnvOptions{})
	ctx := context.Background()

	// A pod this replica made for a run Redis does not know (lost, or expired).
	orphan, err := e.builder(e.owner).Pod(e.cfg, kube.Spec{RunID: "20261128-000000-zzzz", Attempt: 1, Project: "todo", Repo: "api", Branch: "agent-smith/1"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.c.Create(ctx, orphan)).To(Succeed())
	g.Eventually(e.podNames("20261128-000000-zzzz")).WithTimeout(30 * time.Second).Should(BeEmpty())

	run := e.startRun("acme/api#4", "api", "web")
	_, err = e.provision(run)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = e.store.Apply(ctx, run.ID, runs.EventCancel, runs.Update{Error: "ticket closed"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(e.podNames(run.ID)).WithTimeout(30 * time.Second).Should(BeEmpty())
}

func TestDuplicateRunEventsNeverCreateTwinsOrChurn(t *testing.T) {
	g := NewWithT(t)
	e := startSandboxEnv(t, sandboxEnvOptions{resync: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wc, err := client.NewWithWatch(testenv.SharedCluster(t).Config, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(ctx, &corev1.PodList{}, client.InNamespace(e.ns), client.MatchingLabels{kube.LabelComponent: kube.ComponentSandbox})
	g.Expect(err).NotTo(HaveOccurred())
	defer w.Stop()
	var mu sync.Mutex
	added := map[string]int{}
	go func() {
		for ev := range w.ResultChan() {
			if pod, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Added {
				mu.Lock()
				added[pod.Name]++
				mu.Unlock()
			}
		}
	}()
	creations := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range added {
			out[k] = v
		}
		return out
	}

	run := e.startRun("acme/api#5", "api", "web")
	var storm sync.WaitGroup
	for range 200 {
		storm.Go(func() { e.changes.Notify(run) })
	}
	sbs, err := e.provision(run)
	g.Expect(err).NotTo(HaveOccurred())
	storm.Wait()
	for range 50 {
		e.changes.Notify(run) // after ready, too, with a resync every 50ms
	}
	want := map[string]int{kube.PodName(run.ID, run.Fence, "api"): 1, kube.PodName(run.ID, run.Fence, "web"): 1}
	g.Consistently(creations).WithTimeout(2*time.Second).Should(Equal(want), "each sandbox pod is created once, never re-created")
	res, err := sbs["api"].Run(ctx, sandbox.Step{Kind: sandbox.KindRun, Command: "true"}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.ExitCode).To(Equal(0))
}

func TestPodOfAnEarlierStartIsRemovedWhenTheRunMovesHere(t *testing.T) {
	g := NewWithT(t)
	e := startSandboxEnv(t, sandboxEnvOptions{})
	ctx := context.Background()
	old := e.otherReplica("orchestrator-old")

	// The old replica ran attempt 1 and drained; its pod is still there.
	id := e.submit("acme/api#6", "api")
	first := e.takeRun(id, old)
	stale, err := e.builder(old).Pod(e.cfg, kube.Spec{RunID: id, Attempt: 1, Fence: first.Fence, Project: "todo", Repo: "api", Branch: "agent-smith/1"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.c.Create(ctx, stale)).To(Succeed())
	_, err = e.store.HandBack(ctx, id, first.Fence)
	g.Expect(err).NotTo(HaveOccurred())

	run := e.takeRun(id, e.owner)
	g.Expect(run.Attempt).To(Equal(2))
	sbs, err := e.provision(run)
	g.Expect(err).NotTo(HaveOccurred())
	pod := e.pods(g, id)[kube.PodName(id, run.Fence, "api")]
	g.Expect(kube.OwnedBy(&pod, e.owner.Name, e.owner.UID)).To(BeTrue(), "the start's pod is this replica's")
	g.Expect(pod.Annotations[kube.AnnotationJob]).To(Equal(kube.Spec{RunID: id, Attempt: 2, Fence: run.Fence, Repo: "api"}.JobID()))
	g.Expect(sbs["api"].JobID()).To(Equal(pod.Annotations[kube.AnnotationJob]))
	g.Eventually(e.podNames(id)).WithTimeout(30*time.Second).Should(ConsistOf(pod.Name), "the earlier start's pod goes, whoever made it")
	g.Expect(e.eventReasons(g, stale.Name)).To(ContainElement(ReasonSandboxDeleted), "the old pod's deletion is on record")
}

func TestPodNameTakenByAnUnmanagedPodFailsTheRunAndLeavesThatPod(t *testing.T) {
	g := NewWithT(t)
	e := startSandboxEnv(t, sandboxEnvOptions{})
	ctx := context.Background()
	id := e.submit("acme/api#7", "api")
	// The run starts unseen by the reconciler (no notification, resync a
	// minute away), so the squatter can take the start's pod name first.
	quiet, err := runs.NewStore(e.rdb, runs.Options{Prefix: e.cfg.Queue.RedisPrefix, BlockTimeout: 50 * time.Millisecond})
	g.Expect(err).NotTo(HaveOccurred())
	run := e.takeFrom(quiet, id, e.owner)
	squatter := testPod(e.ns, kube.PodName(id, run.Fence, "api"), map[string]string{"app": "someone-else"})
	g.Expect(e.c.Create(ctx, squatter)).To(Succeed())
	e.changes.Notify(run)
	_, err = e.provision(run)
	g.Expect(err).To(MatchError(ContainSubstring("taken by a pod agent-smith does not manage")))
	g.Eventually(func(g Gomega) runs.State { return e.run(g, id).State }).Should(Equal(runs.StateFailed))
	g.Consistently(func() error {
		return e.c.Get(ctx, client.ObjectKeyFromObject(squatter), &corev1.Pod{})
	}).WithTimeout(time.Second).Should(Succeed(), "a pod agent-smith does not manage is never deleted")
}

func TestParkedRunHoldsNoPodAndResumesWithFreshSandboxes(t *testing.T) {
	g := NewWithT(t)
	e := startSandboxEnv(t, sandboxEnvOptions{})
	ctx := context.Background()
	run := e.startRun("acme/api#8", "api")
	sbs, err := e.provision(run)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(sandbox.WriteFile(ctx, sbs["api"], "PLAN.md", "questions")).To(Succeed())
	_, err = e.store.Apply(ctx, run.ID, runs.EventReady, runs.Update{Fence: run.Fence})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = e.store.Apply(ctx, run.ID, runs.EventAwaitInput, runs.Update{Fence: run.Fence})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.prov.Release(ctx, run.ID)).To(Succeed())
	g.Eventually(e.podNames(run.ID)).WithTimeout(30*time.Second).Should(BeEmpty(), "a parked run holds no pod")

	_, err = e.store.Resume(ctx, run.ID, runs.Answer{Text: "yes", Author: "alice"})
	g.Expect(err).NotTo(HaveOccurred())
	resumed := e.takeRun(run.ID, e.owner)
	g.Expect(resumed.Attempt).To(Equal(2))
	sbs, err = e.provision(resumed)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(sbs["api"].JobID()).To(Equal(kube.Spec{RunID: run.ID, Attempt: 2, Fence: resumed.Fence, Repo: "api"}.JobID()))
	_, err = sandbox.ReadFile(ctx, sbs["api"], sandbox.ReadFileRequest{Path: "PLAN.md"})
	var stepErr *sandbox.StepError
	g.Expect(err).To(BeAssignableToTypeOf(stepErr), "a fresh sandbox: the parked attempt's work tree is gone")
}

func TestLeaderSweepDeletesSandboxPodsOfRunsThatNoLongerExistWhoeverMadeThem(t *testing.T) {
	g := NewWithT(t)
	e := startSandboxEnv(t, sandboxEnvOptions{})
	ctx := context.Background()
	gone := e.otherReplica("orchestrator-gone")
	b := e.builder(gone)

	live := e.takeRun(e.submit("acme/api#9", "api"), gone)
	finished := e.takeRun(e.submit("acme/api#10", "api"), gone)
	_, err := e.store.Apply(ctx, finished.ID, runs.EventFail, runs.Update{Fence: finished.Fence, Error: "boom"})
	g.Expect(err).NotTo(HaveOccurred())
	fences := map[string]int64{live.ID: live.Fence, finished.ID: finished.Fence, "20261128-000000-zzzz": 1}
	for id, fence := range fences {
		pod, err := b.Pod(e.cfg, kube.Spec{RunID: id, Attempt: 1, Fence: fence, Project: "todo", Repo: "api", Branch: "agent-smith/1"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(e.c.Create(ctx, pod)).To(Succeed())
	}
	// This replica's reconciler leaves other replicas' pods alone.
	g.Consistently(e.podNames(finished.ID)).WithTimeout(time.Second).Should(HaveLen(1))

	sweeper := NewSandboxSweeper(e.mgr.GetClient(), e.store, e.ns, func() time.Duration { return 0 }, e.mgr.GetEventRecorder("agent-smith-housekeeper"), logr.Discard())
	g.Eventually(func(g Gomega) []string {
		g.Expect(sweeper.Sweep(ctx)).To(Succeed())
		return append(e.podNames(finished.ID)(g), e.podNames("20261128-000000-zzzz")(g)...)
	}).WithTimeout(30 * time.Second).Should(BeEmpty())
	g.Expect(e.podNames(live.ID)(g)).To(HaveLen(1), "a live run's pod stays")
}
