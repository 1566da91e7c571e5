package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

func TestSandboxFailuresFailTheRunFastWithTheirReasonAndRemoveThePods(t *testing.T) {
	for _, tc := range []struct {
		name     string
		repos    []string // default api and web; web is the one that fails
		opts     sandboxEnvOptions
		before   func(e *sandboxEnv)             // before the run starts
		after    func(e *sandboxEnv, pod string) // once the sandboxes are up
		reasons  []string                        // in the run's error and the sandbox record
		diagnose string                          // in the record only: the pod's events
	}{
		{
			name:     "image pull failure",
			before:   func(e *sandboxEnv) { e.kubelet.FailPulls("python:3.12-slim") },
			reasons:  []string{"sandbox of repo web", "python:3.12-slim", "ImagePull"},
			diagnose: `Failed: failed to pull and unpack image "python:3.12-slim"`,
		},
		{
			// The kubelet reads a container's secretKeyRef as it starts it:
			// a sandbox whose Secret went missing cannot start.
			name:  "the sandbox's Secret missing when its pod starts",
			repos: []string{"web"},
			before: func(e *sandboxEnv) {
				e.kubelet.Stop()
				e.whilePending = func(run runs.Run) {
					name := kube.PodName(run.ID, run.Fence, "web")
					NewWithT(e.t).Eventually(e.podNames(run.ID)).WithTimeout(30 * time.Second).Should(ConsistOf(name))
					secret := kube.SecretName(kube.Spec{RunID: run.ID, Attempt: run.Attempt, Fence: run.Fence, Repo: "web"}.JobID())
					must(e.t, e.c.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: secret}}))
					e.startKubelet()
				}
			},
			reasons:  []string{"CreateContainerConfigError", "secret \"sandbox-"},
			diagnose: "(events: Failed: Error: secret \"sandbox-",
		},
		{
			name:    "OOM kill while running",
			after:   func(e *sandboxEnv, pod string) { must(e.t, e.kubelet.OOMKill(e.ns, pod)) },
			reasons: []string{"sandbox of repo web", "OOMKilled (exit code 137)"},
		},
		{
			name:    "eviction while running",
			after:   func(e *sandboxEnv, pod string) { must(e.t, e.kubelet.Evict(e.ns, pod)) },
			reasons: []string{"sandbox of repo web", "pod Evicted: The node was low on resource: memory"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := startSandboxEnv(t, tc.opts)
			if tc.before != nil {
				tc.before(e)
			}
			repos := tc.repos
			if repos == nil {
				repos = []string{"api", "web"}
			}
			run := e.startRun("acme/api#2", repos...)
			if e.whilePending != nil {
				e.whilePending(run)
			}
			_, err := e.provision(run)
			if tc.after != nil {
				g.Expect(err).NotTo(HaveOccurred())
				tc.after(e, kube.PodName(run.ID, run.Fence, "web"))
			} else {
				g.Expect(err).To(HaveOccurred(), "provisioning fails with the reason")
				for _, r := range tc.reasons[1:] {
					g.Expect(err.Error()).To(ContainSubstring(r))
				}
			}

			g.Eventually(func(g Gomega) runs.State { return e.run(g, run.ID).State }).WithTimeout(30 * time.Second).Should(Equal(runs.StateFailed))
			failed := e.run(g, run.ID)
			for _, r := range tc.reasons {
				g.Expect(failed.Error).To(ContainSubstring(r))
			}
			g.Expect(failed.Sandboxes["web"].Phase).To(Equal(runs.SandboxFailed))
			g.Expect(failed.Sandboxes["web"].Reason).To(ContainSubstring(tc.diagnose))
			g.Eventually(e.podNames(run.ID)).WithTimeout(30*time.Second).Should(BeEmpty(), "the failed run's pods are cleaned up")
			g.Expect(e.eventReasons(g, kube.PodName(run.ID, run.Fence, "web"))).To(ContainElement(ReasonSandboxFailed))
		})
	}
}

func TestSandboxNotReadyInTimeFailsTheRun(t *testing.T) {
	g := NewWithT(t)
	e := startSandboxEnv(t, sandboxEnvOptions{readyTimeout: 1})
	// Without a kubelet the pod is never scheduled: it stays Pending, which
	// is not hopeless by itself, until its time is up.
	e.kubelet.Stop()
	run := e.startRun("acme/api#3", "api")
	g.Eventually(func(g Gomega) runs.State { return e.run(g, run.ID).State }).WithTimeout(30 * time.Second).Should(Equal(runs.StateFailed))
	g.Expect(e.run(g, run.ID).Error).To(ContainSubstring("not ready 1s after its creation: not scheduled to a node"))
	g.Eventually(e.podNames(run.ID)).WithTimeout(30 * time.Second).Should(BeEmpty())
}
