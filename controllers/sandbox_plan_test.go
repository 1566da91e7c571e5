package controllers

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

const planRun = "20261128-210501-k3x9"

var (
	replicaA = runs.Owner{Name: "replica-a", UID: "uid-a"}
	replicaB = runs.Owner{Name: "replica-b", UID: "uid-b"}
	planNow  = time.Date(2026, 11, 28, 21, 10, 0, 0, time.UTC)
)

// fenceOf is the fence of planRun's start at attempt, in these tables.
func fenceOf(attempt int) int64 { return 1764363900000 + int64(attempt)*1000 }

// planPod is the sandbox pod of repo in attempt of planRun made by owner,
// created age before planNow, in the given state.
func planPod(repo string, owner runs.Owner, attempt int, age time.Duration, state string) corev1.Pod {
	return planPodAt(repo, owner, attempt, fenceOf(attempt), age, state)
}

// planPodAt is planPod of the start at fence.
func planPodAt(repo string, owner runs.Owner, attempt int, fence int64, age time.Duration, state string) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: kube.PodName(planRun, fence, repo), CreationTimestamp: metav1.NewTime(planNow.Add(-age)),
		Labels: map[string]string{kube.LabelComponent: kube.ComponentSandbox, kube.LabelRun: planRun,
			kube.LabelRepo: repo, kube.LabelOwner: owner.Name, kube.LabelFence: strconv.FormatInt(fence, 10)},
		Annotations:     map[string]string{kube.AnnotationJob: kube.Spec{RunID: planRun, Attempt: attempt, Fence: fence, Repo: repo}.JobID()},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: owner.Name, UID: types.UID(owner.UID)}},
	}}
	main := func(s corev1.ContainerState) []corev1.ContainerStatus {
		return []corev1.ContainerStatus{{Name: kube.MainContainer, State: s}}
	}
	switch state {
	case "pending":
		p.Status.Phase = corev1.PodPending
	case "running":
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = main(corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})
	case "pull-backoff":
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = main(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "py:9"`}})
	case "exited":
		p.Status.Phase = corev1.PodSucceeded
		p.Status.ContainerStatuses = main(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}})
	case "terminating":
		p.Status.Phase = corev1.PodRunning
		p.DeletionTimestamp = &metav1.Time{Time: planNow}
	}
	return p
}

func planRunIn(st runs.State, owner runs.Owner, attempt int, records map[string]runs.SandboxStatus) *runs.Run {
	return &runs.Run{ID: planRun, State: st, Owner: owner, Attempt: attempt, Fence: fenceOf(attempt), Repos: []string{"api", "web"}, Sandboxes: records}
}

// planSummary renders a plan as short lines, sorted, for comparison.
func planSummary(p sandboxPlan) []string {
	var out []string
	for _, r := range p.create {
		out = append(out, "create "+r)
	}
	for _, r := range p.remove {
		out = append(out, "remove "+r.pod.Labels[kube.LabelRepo]+" ("+r.reason+")")
	}
	for _, r := range p.ready {
		out = append(out, "ready "+r.repo+map[bool]string{true: " +record"}[r.record])
	}
	for _, r := range p.failed {
		out = append(out, "failed "+r.repo+map[bool]string{true: " +record"}[r.record]+": "+r.reason)
	}
	if p.failRun != "" {
		out = append(out, "fail run: "+p.failRun)
	}
	if p.forget {
		out = append(out, "forget")
	}
	sort.Strings(out)
	return out
}

func TestPlanSandboxes(t *testing.T) {
	ready := func(attempt int) runs.SandboxStatus {
		return runs.SandboxStatus{Attempt: attempt, Fence: fenceOf(attempt), Phase: runs.SandboxReady}
	}
	fenceReason := func(attempt int) string {
		return fmt.Sprintf("of fence \"%d\" (an earlier start); run %s is at fence %d", fenceOf(attempt), planRun, fenceOf(2))
	}
	legacy := planPod("api", replicaA, 2, time.Hour, "running")
	delete(legacy.Labels, kube.LabelFence)
	legacy.Name = "sandbox-" + planRun + "-api"
	for _, tc := range []struct {
		name string
		run  *runs.Run
		pods []corev1.Pod
		want []string
	}{
		{"unknown run: this replica's pods go, another's are left alone", nil,
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "running"), planPod("web", replicaB, 1, time.Minute, "running")},
			[]string{"forget", "remove api (run " + planRun + " does not exist)"}},
		{"finished run", planRunIn(runs.StateSucceeded, replicaA, 1, nil),
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "exited"), planPod("web", replicaA, 1, time.Minute, "running")},
			[]string{"forget", "remove api (run " + planRun + " is succeeded)", "remove web (run " + planRun + " is succeeded)"}},
		{"parked run holds no pod", planRunIn(runs.StateAwaitingInput, replicaA, 1, nil),
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "running")},
			[]string{"forget", "remove api (run " + planRun + " is awaiting_input)"}},
		{"run taken over by another replica", planRunIn(runs.StateRunning, replicaB, 2, nil),
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "running")},
			[]string{"forget", "remove api (run " + planRun + " is owned by replica replica-b)"}},
		// Pods are made from the start, while the ticket is read, so that
		// they come up meanwhile.
		{"starting, nothing yet", planRunIn(runs.StateStarting, replicaA, 1, nil), nil,
			[]string{"create api", "create web"}},
		{"provisioning, nothing yet", planRunIn(runs.StateProvisioning, replicaA, 1, nil), nil,
			[]string{"create api", "create web"}},
		{"one up, one missing", planRunIn(runs.StateProvisioning, replicaA, 1, nil),
			[]corev1.Pod{planPod("api", replicaA, 1, 5*time.Second, "running")},
			[]string{"create web", "ready api +record"}},
		{"already recorded ready: posted again, not recorded again", planRunIn(runs.StateRunning, replicaA, 1, map[string]runs.SandboxStatus{"api": ready(1), "web": ready(1)}),
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "running"), planPod("web", replicaA, 1, time.Minute, "running")},
			[]string{"ready api", "ready web"}},
		{"a record of an older attempt says nothing", planRunIn(runs.StateProvisioning, replicaA, 2, map[string]runs.SandboxStatus{"api": ready(1)}),
			[]corev1.Pod{planPod("web", replicaA, 2, time.Second, "running")},
			[]string{"create api", "ready web +record"}},
		{"a pod of an earlier start goes; the new one has a name of its own", planRunIn(runs.StateProvisioning, replicaA, 2, nil),
			[]corev1.Pod{planPod("api", replicaA, 1, time.Hour, "running"), planPod("web", replicaA, 2, time.Second, "running")},
			[]string{"create api", "ready web +record", "remove api (" + fenceReason(1) + ")"}},
		{"another replica's pod of an earlier start goes too", planRunIn(runs.StateProvisioning, replicaA, 2, nil),
			[]corev1.Pod{planPod("api", replicaB, 1, time.Hour, "running"), planPod("web", replicaA, 2, time.Second, "running")},
			[]string{"create api", "ready web +record", "remove api (" + fenceReason(1) + ")"}},
		{"my pod of a start Redis lost (a newer fence than the run's) goes", planRunIn(runs.StateProvisioning, replicaA, 2, nil),
			[]corev1.Pod{planPodAt("api", replicaA, 2, fenceOf(2)+7, time.Second, "running"), planPod("web", replicaA, 2, time.Second, "running")},
			[]string{"create api", "ready web +record", fmt.Sprintf("remove api (of fence \"%d\" (an earlier start); run %s is at fence %d)", fenceOf(2)+7, planRun, fenceOf(2))}},
		{"a pod from before fences goes", planRunIn(runs.StateProvisioning, replicaA, 2, nil),
			[]corev1.Pod{legacy, planPod("web", replicaA, 2, time.Second, "running")},
			[]string{"create api", "ready web +record", fmt.Sprintf("remove api (of fence \"\" (an earlier start); run %s is at fence %d)", planRun, fenceOf(2))}},
		{"another replica's pod holds the name", planRunIn(runs.StateProvisioning, replicaA, 2, nil),
			[]corev1.Pod{planPod("api", replicaB, 2, time.Hour, "running"), planPod("web", replicaA, 2, time.Second, "running")},
			[]string{"ready web +record", "remove api (left by replica replica-b; run " + planRun + " is now provisioned by replica-a)"}},
		{"a terminating pod is waited for", planRunIn(runs.StateProvisioning, replicaA, 2, nil),
			[]corev1.Pod{planPod("api", replicaA, 2, time.Hour, "terminating"), planPod("web", replicaA, 2, time.Second, "running")},
			[]string{"ready web +record"}},
		{"image pull failure fails the run once", planRunIn(runs.StateProvisioning, replicaA, 1, nil),
			[]corev1.Pod{planPod("api", replicaA, 1, 5*time.Second, "pull-backoff"), planPod("web", replicaA, 1, 5*time.Second, "running")},
			[]string{
				`fail run: sandbox of repo api: container toolchain: ImagePullBackOff: Back-off pulling image "py:9"`,
				`failed api +record: container toolchain: ImagePullBackOff: Back-off pulling image "py:9"`,
				"ready web +record",
			}},
		{"a recorded failure is posted, not failed again", planRunIn(runs.StateProvisioning, replicaA, 1, map[string]runs.SandboxStatus{"api": {Attempt: 1, Fence: fenceOf(1), Phase: runs.SandboxFailed, Reason: "ImagePullBackOff"}}),
			[]corev1.Pod{planPod("api", replicaA, 1, 5*time.Second, "pull-backoff"), planPod("web", replicaA, 1, 5*time.Second, "pending")},
			[]string{`failed api: container toolchain: ImagePullBackOff: Back-off pulling image "py:9"`}},
		{"a sandbox deleted under a running run is not made again", planRunIn(runs.StateRunning, replicaA, 1, map[string]runs.SandboxStatus{"api": ready(1), "web": ready(1)}),
			[]corev1.Pod{planPod("web", replicaA, 1, time.Minute, "running")},
			[]string{
				"fail run: sandbox of repo api: its pod was deleted while the run was using it",
				"failed api +record: its pod was deleted while the run was using it",
				"ready web",
			}},
		{"agents shut down by Release before the final transition", planRunIn(runs.StatePublishing, replicaA, 1, map[string]runs.SandboxStatus{"api": ready(1), "web": ready(1)}),
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "exited"), planPod("web", replicaA, 1, time.Minute, "exited")},
			nil},
		{"an agent that exits before it was ready failed", planRunIn(runs.StateProvisioning, replicaA, 1, nil),
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "exited"), planPod("web", replicaA, 1, time.Minute, "running")},
			[]string{
				"fail run: sandbox of repo api: the agent exited before the sandbox was ready",
				"failed api +record: the agent exited before the sandbox was ready",
				"ready web +record",
			}},
		{"a pod of a repository the run does not have", &runs.Run{ID: planRun, State: runs.StateRunning, Owner: replicaA, Attempt: 1, Fence: fenceOf(1), Repos: []string{"web"}, Sandboxes: map[string]runs.SandboxStatus{"web": ready(1)}},
			[]corev1.Pod{planPod("api", replicaA, 1, time.Minute, "running"), planPod("web", replicaA, 1, time.Minute, "running")},
			[]string{"ready web", "remove api (not a repository of the run)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planSandboxes(sandboxState{runID: planRun, run: tc.run, pods: tc.pods, me: replicaA, now: planNow, readyTimeout: 2 * time.Minute})
			NewWithT(t).Expect(planSummary(p)).To(Equal(tc.want), strings.Join(planSummary(p), "\n"))
		})
	}
}

func TestPlanRequeuesWhenTheFirstPendingPodRunsOutOfTime(t *testing.T) {
	g := NewWithT(t)
	p := planSandboxes(sandboxState{runID: planRun, run: planRunIn(runs.StateProvisioning, replicaA, 1, nil), me: replicaA, now: planNow,
		readyTimeout: 2 * time.Minute, pods: []corev1.Pod{planPod("api", replicaA, 1, 30*time.Second, "pending"), planPod("web", replicaA, 1, 90*time.Second, "pending")}})
	g.Expect(p.requeueAfter).To(Equal(30*time.Second), "web's deadline comes first")
	g.Expect(planSummary(p)).To(BeEmpty())
}

func TestOrphanSandboxesAreThoseOfUnknownAndFinishedRunsAndOfEarlierStarts(t *testing.T) {
	g := NewWithT(t)
	pod := func(run, fence string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "sandbox-" + run + "-" + fence,
			Labels: map[string]string{kube.LabelRun: run, kube.LabelFence: fence}}}
	}
	known := runs.Known{
		Runs:   map[string]runs.State{"live": runs.StateRunning, "parked": runs.StateAwaitingInput, "done": runs.StateFailed},
		Fences: map[string]int64{"live": 1002},
	}
	var got []string
	pods := []corev1.Pod{pod("live", "1002"), pod("live", "1001"), pod("parked", "7"), pod("done", "9"), pod("gone", "3"), pod("", "")}
	removals, keeps := orphanSandboxes(pods, known, 0, planNow)
	for _, rm := range removals {
		got = append(got, rm.pod.Name+": "+rm.reason)
	}
	g.Expect(keeps).To(BeEmpty(), "nothing is kept when sandbox.keep_failed_pods_minutes is 0")
	g.Expect(got).To(ConsistOf("sandbox-done-9: run done is failed", "sandbox-gone-3: run gone does not exist",
		`sandbox-live-1001: of fence "1001" (an earlier start); run live is at fence 1002`),
		"a parked run's pods are its owner's to delete; a dead owner's go with the garbage collector")
}
