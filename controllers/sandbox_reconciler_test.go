package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

func TestRunWithTwoReposGetsTwoExactPodsWhoseAgentsAnswerAndNothingIsLeftAtTheEnd(t *testing.T) {
	g := NewWithT(t)
	e := startSandboxEnv(t, sandboxEnvOptions{})
	ctx := context.Background()
	run := e.startRun("acme/api#1", "api", "web")

	sbs, err := e.provision(run)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(sbs).To(HaveLen(2))

	pods := e.pods(g, run.ID)
	g.Expect(pods).To(HaveLen(2))
	builder := e.builder(e.owner)
	for _, repo := range []string{"api", "web"} {
		want, err := builder.Pod(e.cfg, kube.Spec{RunID: run.ID, Attempt: 1, Fence: run.Fence, Project: "todo", Repo: repo, Branch: runs.BranchFor(run.Ticket)})
		g.Expect(err).NotTo(HaveOccurred())
		got, ok := pods[want.Name]
		g.Expect(ok).To(BeTrue(), "pod %s exists", want.Name)
		g.Expect(got.Labels).To(Equal(want.Labels))
		g.Expect(got.Annotations).To(Equal(want.Annotations))
		g.Expect(got.OwnerReferences).To(Equal(want.OwnerReferences))
		g.Expect(equality.Semantic.DeepDerivative(want.Spec, got.Spec)).To(BeTrue(),
			"every field the builder sets is on the created pod (the apiserver only adds defaults):\nwant %+v\ngot  %+v", want.Spec, got.Spec)
	}
	g.Expect(pods[kube.PodName(run.ID, run.Fence, "web")].Spec.Containers[0].Image).To(Equal("python:3.12-slim"))
	g.Expect(e.run(g, run.ID).Sandboxes).To(Equal(map[string]runs.SandboxStatus{
		"api": {Attempt: 1, Fence: run.Fence, Phase: runs.SandboxReady}, "web": {Attempt: 1, Fence: run.Fence, Phase: runs.SandboxReady},
	}))

	// Each sandbox has its Secret: the tokens its agent and gate took
	// through secretKeyRef; its steps see neither, nor the git token.
	g.Expect(e.secretNames(run.ID)(g)).To(ConsistOf(kube.SecretName(sbs["api"].JobID()), kube.SecretName(sbs["web"].JobID())))
	res, err := sbs["api"].Run(ctx, sandbox.Step{Kind: sandbox.KindRun, Command: "sh", Args: []string{"-c", `env; echo "pwd=$PWD"`}}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.ExitCode).To(Equal(0), res.Stderr)
	g.Expect(res.Stdout).To(ContainSubstring("pwd=/"))
	g.Expect(res.Stdout).NotTo(Or(ContainSubstring("SANDBOX_TOKEN"), ContainSubstring(sandboxToken), ContainSubstring(e.api.Tokens(sbs["api"].JobID()).Agent)))
	g.Expect(sandbox.WriteFile(ctx, sbs["web"], "app.py", "print('hi')\n")).To(Succeed())
	text, err := sandbox.ReadFile(ctx, sbs["web"], sandbox.ReadFileRequest{Path: "app.py"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(text.Content).To(Equal("print('hi')\n"))

	for _, ev := range []runs.Event{runs.EventReady, runs.EventPublish} {
		_, err := e.store.Apply(ctx, run.ID, ev, runs.Update{Fence: run.Fence})
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(e.prov.Release(ctx, run.ID)).To(Succeed())
	_, err = e.store.Apply(ctx, run.ID, runs.EventSucceed, runs.Update{Fence: run.Fence})
	g.Expect(err).NotTo(HaveOccurred())

	g.Eventually(e.podNames(run.ID)).WithTimeout(30 * time.Second).Should(BeEmpty())
	g.Eventually(e.secretNames(run.ID)).WithTimeout(10*time.Second).Should(BeEmpty(), "the Secrets go with their pods")
	g.Eventually(func(g Gomega) []string { return e.eventReasons(g, kube.PodName(run.ID, run.Fence, "api")) }).WithTimeout(10*time.Second).Should(
		ContainElements(ReasonSandboxCreated, ReasonSandboxReady, ReasonSandboxDeleted), "kubectl describe tells the story")
}

// The language comes from the configuration: the pod is created before
// the checkout, so nothing detected in the files could pick the image.
func TestRepoWithLanguageNodeRunsInTheNodeToolchainImage(t *testing.T) {
	g := NewWithT(t)
	e := startSandboxEnv(t, sandboxEnvOptions{})
	run := e.startRun("acme/ui#1", "ui")

	sbs, err := e.provision(run)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(sbs).To(HaveKey("ui"))
	pod := e.pods(g, run.ID)[kube.PodName(run.ID, run.Fence, "ui")]
	g.Expect(pod.Spec.Containers).To(ContainElement(And(
		HaveField("Name", kube.MainContainer), HaveField("Image", "registry.test/toolchains/node:22"))),
		"sandbox.toolchain_images.node")
	g.Expect(e.prov.Release(context.Background(), run.ID)).To(Succeed())
}
