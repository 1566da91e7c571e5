package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDiagnoseTellsReadyPendingAndEveryFailureWithItsReason(t *testing.T) {
	created := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
	const timeout = 2 * time.Minute
	waitingOn := func(reason, msg string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
	}
	exited := func(code int32, reason, msg string) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg}}
	}
	runningState := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	pod := func(phase corev1.PodPhase, inject, toolchain corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)},
			Status: corev1.PodStatus{Phase: phase,
				InitContainerStatuses: []corev1.ContainerStatus{{Name: "inject", State: inject}},
				ContainerStatuses:     []corev1.ContainerStatus{{Name: "toolchain", State: toolchain}},
			},
		}
	}
	initWaiting := waitingOn("PodInitializing", "")
	for _, tc := range []struct {
		name   string
		pod    *corev1.Pod
		at     time.Duration // after creation
		health health
		reason string
	}{
		{"just created", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)}}, time.Second, healthPending, ""},
		{"initializing", pod(corev1.PodPending, runningState, initWaiting), 10 * time.Second, healthPending, ""},
		{"running", pod(corev1.PodRunning, exited(0, "Completed", ""), runningState), time.Minute, healthReady, ""},
		{"running, container not started yet", pod(corev1.PodRunning, exited(0, "Completed", ""), waitingOn("ContainerCreating", "")), time.Minute, healthPending, ""},
		{"image pull error on the agent image", pod(corev1.PodPending, waitingOn("ErrImagePull", `failed to pull "acme/agent-smith:9"`), initWaiting), time.Second, healthFailed,
			`container inject: ErrImagePull: failed to pull "acme/agent-smith:9"`},
		{"toolchain image pull back-off", pod(corev1.PodPending, exited(0, "Completed", ""), waitingOn("ImagePullBackOff", `Back-off pulling image "python:9"`)), time.Second, healthFailed,
			`container toolchain: ImagePullBackOff: Back-off pulling image "python:9"`},
		{"invalid image name", pod(corev1.PodPending, exited(0, "Completed", ""), waitingOn("InvalidImageName", `couldn't parse image name "UPPER:case"`)), time.Second, healthFailed, "InvalidImageName"},
		{"crash loop", pod(corev1.PodRunning, exited(0, "Completed", ""), waitingOn("CrashLoopBackOff", "back-off 10s restarting failed container")), time.Second, healthFailed, "CrashLoopBackOff"},
		{"missing secret key", pod(corev1.PodPending, exited(0, "Completed", ""), waitingOn("CreateContainerConfigError", "couldn't find key GITHUB_TOKEN in Secret ns/agent-smith-secrets")), time.Second, healthFailed,
			"CreateContainerConfigError: couldn't find key GITHUB_TOKEN"},
		{"oom killed", pod(corev1.PodFailed, exited(0, "Completed", ""), exited(137, "OOMKilled", "")), time.Minute, healthFailed, "container toolchain was OOMKilled (exit code 137)"},
		{"evicted", func() *corev1.Pod {
			p := pod(corev1.PodFailed, exited(0, "Completed", ""), exited(137, "Error", ""))
			p.Status.Reason, p.Status.Message = "Evicted", "The node was low on resource: memory."
			return p
		}(), time.Minute, healthFailed, "pod Evicted: The node was low on resource: memory."},
		{"active deadline exceeded", func() *corev1.Pod {
			p := pod(corev1.PodFailed, exited(0, "Completed", ""), exited(137, "Error", ""))
			p.Status.Reason, p.Status.Message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
			return p
		}(), time.Hour, healthFailed, "pod DeadlineExceeded"},
		{"agent exited with an error", pod(corev1.PodFailed, exited(0, "Completed", ""), exited(2, "Error", "sandbox-agent: idle timeout: no step for 15m0s")), time.Hour, healthFailed,
			"container toolchain exited with code 2 (Error): sandbox-agent: idle timeout"},
		{"inject failed", pod(corev1.PodPending, exited(1, "Error", "create /shared: permission denied"), initWaiting), 5 * time.Second, healthFailed,
			"init container inject exited with code 1 (Error): create /shared: permission denied"},
		{"agent shut down", pod(corev1.PodSucceeded, exited(0, "Completed", ""), exited(0, "Completed", "")), time.Hour, healthExited, ""},
		{"not ready in time", pod(corev1.PodPending, runningState, initWaiting), 3 * time.Minute, healthFailed,
			"not ready 2m0s after its creation: container toolchain waiting: PodInitializing"},
		{"unschedulable in time", func() *corev1.Pod {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)}}
			p.Status.Phase = corev1.PodPending
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available: 3 Insufficient memory."}}
			return p
		}(), 5 * time.Minute, healthFailed, "unschedulable: 0/3 nodes are available: 3 Insufficient memory."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			d := diagnose(tc.pod, created.Add(tc.at), timeout)
			g.Expect(d.health).To(Equal(tc.health), "reason %q", d.reason)
			if tc.reason != "" {
				g.Expect(d.reason).To(ContainSubstring(tc.reason))
			}
			if tc.health == healthPending {
				g.Expect(d.retryIn).To(Equal(timeout-tc.at), "a pending pod is looked at again when its time is up")
			}
		})
	}
}

func TestDiagnosisQuotesOnlyTheEndOfALongLog(t *testing.T) {
	g := NewWithT(t)
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	p := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "toolchain", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", Message: string(long) + "the end"}},
	}}}}
	d := diagnose(p, time.Now(), time.Minute)
	g.Expect(d.reason).To(HaveSuffix("the end"))
	g.Expect(len(d.reason)).To(BeNumerically("<", 400))
}
