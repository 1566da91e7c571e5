package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

func TestRestrictedNamespaceAdmitsTheDefaultSandboxPodAndRefusesARootOne(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "restricted-", Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	}}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	b := testBuilder(t, ns.Name, runs.Owner{Name: "orchestrator-0", UID: "0b6a1e8c-5f43-4d7e-9a51-6c2f0e7d1a42"})
	cfg := sandboxTestConfig(t)
	for _, tc := range []struct {
		name     string
		asRoot   bool
		admitted bool
	}{
		{"default: restricted profile", false, true},
		{"run_as_root: baseline profile only", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			cfg.Projects["todo"].Sandbox.RunAsRoot = &tc.asRoot
			pod, err := b.Pod(cfg, kube.Spec{RunID: planRun, Attempt: 1, Project: "todo", Repo: "api", Branch: "agent-smith/1"})
			g.Expect(err).NotTo(HaveOccurred())
			pod.Name += map[bool]string{true: "-root", false: ""}[tc.asRoot]
			err = c.Create(ctx, pod)
			if tc.admitted {
				g.Expect(err).NotTo(HaveOccurred(), "the apiserver's Pod Security admission admits the sandbox pod")
				return
			}
			g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
			g.Expect(err.Error()).To(And(ContainSubstring(`violates PodSecurity "restricted:latest"`), ContainSubstring("runAsNonRoot")))
		})
	}
}
