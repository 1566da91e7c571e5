package kube_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
	"github.com/agent-smith/agent-smith/sandbox/internal/agenttest"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

type provisioned struct {
	Sandboxes map[string]sandbox.Provisioned
	Err       error
}

func provisionAsync(p *kube.Provisioner, req sandbox.ProvisionRequest) <-chan provisioned {
	out := make(chan provisioned, 1)
	go func() {
		sbs, err := p.Provision(context.Background(), req)
		out <- provisioned{sbs, err}
	}()
	return out
}

func request(attempt int, repos ...string) sandbox.ProvisionRequest {
	req := sandbox.ProvisionRequest{RunID: runID, Attempt: attempt}
	for _, r := range repos {
		req.Repos = append(req.Repos, sandbox.RepoSpec{Name: r})
	}
	return req
}

// api is a sandbox API on loopback, as the replica serves it.
type api struct {
	*gateway.Gateway
	url string
}

func startAPI(t *testing.T) api {
	t.Helper()
	gw, err := gateway.New(gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := newListener()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = gw.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	return api{gw, "http://" + l.Addr().String()}
}

// sandbox starts the agent and the gate of job, as its pod would.
func (a api) sandbox(t *testing.T, job string) (*agenttest.Agent, *agenttest.Agent) {
	t.Helper()
	tokens := a.Tokens(job)
	return agenttest.Start(t, testenv.AgentBinary(t), agenttest.API{URL: a.url, Token: tokens.Agent}, job),
		agenttest.StartGate(t, testenv.AgentBinary(t), agenttest.API{URL: a.url, Token: tokens.Gate}, job, "https://git.example/acme/api", "agent-smith/42")
}

func TestProvisionWaitsForTheReconcilerThenServesStepsAndReleaseStopsTheAgents(t *testing.T) {
	g := NewWithT(t)
	a := startAPI(t)
	board := kube.NewBoard()
	p := kube.NewProvisioner(a.Gateway, board, kube.ProvisionerOptions{})
	api, web := kube.Spec{RunID: runID, Attempt: 2, Repo: "api"}.JobID(), kube.Spec{RunID: runID, Attempt: 2, Repo: "web"}.JobID()

	done := provisionAsync(p, request(2, "api", "web"))
	agentA, gateA := a.sandbox(t, api)
	agentW, gateW := a.sandbox(t, web)
	board.Ready(runID, api)
	board.Ready(runID, kube.Spec{RunID: runID, Attempt: 1, Repo: "web"}.JobID())
	g.Consistently(done).WithTimeout(300*time.Millisecond).ShouldNot(Receive(), "one sandbox is ready, and a report about attempt 1 does not count for attempt 2")

	board.Ready(runID, web)
	var got provisioned
	g.Eventually(done).WithTimeout(10 * time.Second).Should(Receive(&got))
	g.Expect(got.Err).NotTo(HaveOccurred())
	g.Expect(got.Sandboxes).To(HaveKey("api"))
	g.Expect(got.Sandboxes["web"].Work.JobID()).To(Equal(web))
	res, err := got.Sandboxes["api"].Work.Run(context.Background(), sandbox.Step{Kind: sandbox.KindRun, Command: "echo", Args: []string{"hello"}}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.ExitCode).To(Equal(0))
	// The gate's steps reach the gate: it refuses a branch that is not
	// the run's without asking the remote.
	_, err = got.Sandboxes["api"].Git.Fetch(context.Background(), sandbox.FetchRequest{Branch: "main"})
	g.Expect(err).To(MatchError(ContainSubstring(`branch "main" is not the run's`)))

	g.Expect(p.Release(context.Background(), runID)).To(Succeed())
	for _, agent := range []*agenttest.Agent{agentA, agentW} {
		g.Eventually(agent.Exited()).WithTimeout(10 * time.Second).Should(BeClosed())
		g.Expect(agent.ExitCode()).To(Equal(0), "the agent stopped on the shutdown step")
	}
	for _, gate := range []*agenttest.Agent{gateA, gateW} {
		g.Consistently(gate.Exited()).ShouldNot(BeClosed(), "a native sidecar idles until its pod ends")
		g.Expect(gate.Output()).To(ContainSubstring("shutdown"))
	}
	g.Expect(p.Release(context.Background(), runID)).To(Succeed(), "a second release has nothing to do")
}

func TestProvisionFailsWithTheReasonTheReconcilerPosted(t *testing.T) {
	g := NewWithT(t)
	board := kube.NewBoard()
	p := kube.NewProvisioner(startAPI(t).Gateway, board, kube.ProvisionerOptions{})
	done := provisionAsync(p, request(1, "api", "web"))
	board.Ready(runID, kube.Spec{RunID: runID, Attempt: 1, Repo: "api"}.JobID())
	board.Failed(runID, kube.Spec{RunID: runID, Attempt: 1, Repo: "web"}.JobID(), `ImagePullBackOff: Back-off pulling image "python:9"`)
	var got provisioned
	g.Eventually(done).WithTimeout(10 * time.Second).Should(Receive(&got))
	g.Expect(got.Err).To(MatchError(ContainSubstring(`ImagePullBackOff: Back-off pulling image "python:9"`)))
}

func TestProvisionGivesUpWhenNothingIsReported(t *testing.T) {
	g := NewWithT(t)
	p := kube.NewProvisioner(startAPI(t).Gateway, kube.NewBoard(), kube.ProvisionerOptions{Wait: 50 * time.Millisecond})
	_, err := p.Provision(context.Background(), request(1, "api"))
	g.Expect(err).To(MatchError(context.DeadlineExceeded))
}

func TestProvisionFailsWhenTheAgentNeverPolls(t *testing.T) {
	g := NewWithT(t)
	board := kube.NewBoard()
	p := kube.NewProvisioner(startAPI(t).Gateway, board, kube.ProvisionerOptions{AgentWait: 100 * time.Millisecond})
	board.Ready(runID, kube.Spec{RunID: runID, Attempt: 1, Repo: "api"}.JobID())
	_, err := p.Provision(context.Background(), request(1, "api"))
	g.Expect(err).To(MatchError(ContainSubstring("the agent of job " + kube.Spec{RunID: runID, Attempt: 1, Repo: "api"}.JobID() + " does not poll")))
}
