package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

// keptPod is planPod of repo kept until planNow+left.
func keptPod(repo string, owner runs.Owner, left time.Duration) corev1.Pod {
	p := planPod(repo, owner, 1, time.Hour, "exited")
	return *kube.Kept(&p, planNow.Add(left))
}

func TestDecideKeepKeepsOnlyAFailedRunsPodsAndOnlyUntilTheirTime(t *testing.T) {
	fresh := planPod("api", replicaA, 1, time.Minute, "exited")
	kept := keptPod("api", replicaA, 10*time.Minute)
	garbled := planPod("api", replicaA, 1, time.Minute, "exited")
	garbled.Annotations[kube.AnnotationKeepUntil] = "tomorrow"
	for _, tc := range []struct {
		name      string
		pod       corev1.Pod
		failed    bool
		keep      time.Duration
		at        time.Duration // after planNow
		want      keepVerdict
		wantUntil time.Duration // after planNow; 0: none
	}{
		{"failed run, keeping on: marked for the keep time", fresh, true, 30 * time.Minute, 0, keepMark, 30 * time.Minute},
		{"failed run, keeping off: deleted", fresh, true, 0, 0, keepNo, 0},
		{"succeeded or cancelled run: deleted", fresh, false, 30 * time.Minute, 0, keepNo, 0},
		{"kept, before its time: held", kept, true, 30 * time.Minute, 9 * time.Minute, keepHold, 10 * time.Minute},
		{"kept, held whatever the run became", kept, false, 0, 0, keepHold, 10 * time.Minute},
		{"kept, at its time: deleted", kept, true, 30 * time.Minute, 10 * time.Minute, keepOver, 10 * time.Minute},
		{"kept, past its time: deleted, not marked again", kept, true, 30 * time.Minute, time.Hour, keepOver, 10 * time.Minute},
		{"an annotation that is no time is no keep", garbled, false, 30 * time.Minute, 0, keepNo, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			v, until := decideKeep(&tc.pod, tc.failed, tc.keep, planNow.Add(tc.at))
			g.Expect(v).To(Equal(tc.want))
			if tc.wantUntil == 0 {
				g.Expect(until.IsZero()).To(BeTrue())
			} else {
				g.Expect(until).To(BeTemporally("==", planNow.Add(tc.wantUntil)))
			}
		})
	}
}

func TestPlanKeepsAFailedRunsPodsThenRemovesThemOnceTheirTimeIsUp(t *testing.T) {
	failed := planRunIn(runs.StateFailed, replicaA, 1, nil)
	overReason := func(repo string) string {
		return "remove " + repo + " (kept for inspection until 2026-11-28T21:05:00Z, which has passed (run " + planRun + " is failed))"
	}
	for _, tc := range []struct {
		name    string
		run     *runs.Run
		keep    time.Duration
		pods    []corev1.Pod
		want    []string
		kept    []string // repos marked
		requeue time.Duration
	}{
		{"failed run, keeping off", failed, 0,
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "exited")},
			[]string{"forget", "remove api (run " + planRun + " is failed)"}, nil, 0},
		{"failed run: its pods are marked, another replica's left alone", failed, 30 * time.Minute,
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "exited"), planPod("web", replicaA, 1, time.Minute, "pull-backoff"),
				planPod("ui", replicaB, 1, time.Minute, "exited")},
			[]string{"forget"}, []string{"api", "web"}, 30 * time.Minute},
		{"kept pods are held, the reconcile comes back when the first is due", failed, 30 * time.Minute,
			[]corev1.Pod{keptPod("api", replicaA, 5*time.Minute), keptPod("web", replicaA, 2*time.Minute)},
			[]string{"forget"}, nil, 2 * time.Minute},
		{"a kept pod whose time is up goes", failed, 30 * time.Minute,
			[]corev1.Pod{keptPod("api", replicaA, -5*time.Minute), keptPod("web", replicaA, time.Minute)},
			[]string{"forget", overReason("api")}, nil, time.Minute},
		{"succeeded run: nothing kept", planRunIn(runs.StateSucceeded, replicaA, 1, nil), 30 * time.Minute,
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "exited")},
			[]string{"forget", "remove api (run " + planRun + " is succeeded)"}, nil, 0},
		{"cancelled run: nothing kept", planRunIn(runs.StateCancelled, replicaA, 1, nil), 30 * time.Minute,
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "running")},
			[]string{"forget", "remove api (run " + planRun + " is cancelled)"}, nil, 0},
		{"retried run: the failed start's kept pod stays beside the new one", planRunIn(runs.StateProvisioning, replicaA, 2, nil), 30 * time.Minute,
			[]corev1.Pod{keptPod("api", replicaA, 5*time.Minute), planPod("api", replicaA, 2, time.Second, "running")},
			[]string{"create web", "ready api +record"}, nil, 5 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := planSandboxes(sandboxState{runID: planRun, run: tc.run, pods: tc.pods, me: replicaA, now: planNow,
				readyTimeout: 2 * time.Minute, keepFailed: tc.keep})
			g.Expect(planSummary(p)).To(ConsistOf(tc.want))
			var kept []string
			for _, k := range p.keep {
				kept = append(kept, k.pod.Labels[kube.LabelRepo])
				g.Expect(k.until).To(BeTemporally("==", planNow.Add(tc.keep)))
			}
			g.Expect(kept).To(ConsistOf(tc.kept))
			g.Expect(p.requeueAfter).To(Equal(tc.requeue))
		})
	}
}

func TestSweeperMarksAFailedRunsPodsAndRemovesKeptPodsOnlyOnceTheirTimeIsUp(t *testing.T) {
	g := NewWithT(t)
	pod := func(run string, keptFor time.Duration) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "sandbox-" + run, Labels: map[string]string{kube.LabelRun: run, kube.LabelFence: "1"}}}
		if keptFor != 0 {
			return *kube.Kept(&p, planNow.Add(keptFor))
		}
		return p
	}
	known := runs.Known{Runs: map[string]runs.State{"failed": runs.StateFailed, "kept": runs.StateFailed, "over": runs.StateFailed,
		"done": runs.StateSucceeded}}
	pods := []corev1.Pod{pod("failed", 0), pod("kept", time.Minute), pod("over", -time.Minute), pod("done", 0), pod("expired", time.Minute)}

	removals, keeps := orphanSandboxes(pods, known, time.Hour, planNow)

	var removed, marked []string
	for _, rm := range removals {
		removed = append(removed, rm.pod.Name+": "+rm.reason)
	}
	for _, k := range keeps {
		marked = append(marked, k.pod.Name+" until "+k.until.Format(time.RFC3339))
	}
	g.Expect(removed).To(ConsistOf("sandbox-done: run done is succeeded",
		"sandbox-over: kept for inspection until 2026-11-28T21:09:00Z, which has passed (run over is failed)"),
		"a kept pod stays until its time, even once its run is gone")
	g.Expect(marked).To(ConsistOf("sandbox-failed until 2026-11-28T22:10:00Z"))
}
