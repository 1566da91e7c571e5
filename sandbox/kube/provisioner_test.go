package kube_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/agenttest"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

type provisioned struct {
	Sandboxes map[string]sandbox.Sandbox
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

func jobKeys(g Gomega, rdb *redis.Client, job string) []string {
	keys, err := rdb.Keys(context.Background(), sandbox.DefaultPrefix+"sandbox:"+job+":*").Result()
	g.Expect(err).NotTo(HaveOccurred())
	return keys
}

func TestProvisionWaitsForTheReconcilerThenServesStepsAndReleaseStopsTheAgents(t *testing.T) {
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	board := kube.NewBoard()
	rdb := testenv.SharedRedis(t).Client(t)
	p := kube.NewProvisioner(rdb, board, kube.ProvisionerOptions{})
	api, web := kube.Spec{RunID: runID, Attempt: 2, Repo: "api"}.JobID(), kube.Spec{RunID: runID, Attempt: 2, Repo: "web"}.JobID()

	done := provisionAsync(p, request(2, "api", "web"))
	agents := []*agenttest.Agent{agenttest.Start(t, testenv.AgentBinary(t), testenv.SharedRedis(t).URL(), api), agenttest.Start(t, testenv.AgentBinary(t), testenv.SharedRedis(t).URL(), web)}
	board.Ready(runID, api)
	board.Ready(runID, kube.Spec{RunID: runID, Attempt: 1, Repo: "web"}.JobID())
	g.Consistently(done).WithTimeout(300*time.Millisecond).ShouldNot(Receive(), "one sandbox is ready, and a report about attempt 1 does not count for attempt 2")

	board.Ready(runID, web)
	var got provisioned
	g.Eventually(done).WithTimeout(10 * time.Second).Should(Receive(&got))
	g.Expect(got.Err).NotTo(HaveOccurred())
	g.Expect(got.Sandboxes).To(HaveKey("api"))
	g.Expect(got.Sandboxes["web"].JobID()).To(Equal(web))
	res, err := got.Sandboxes["api"].Run(context.Background(), sandbox.Step{Kind: sandbox.KindRun, Command: "echo", Args: []string{"hello"}}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.ExitCode).To(Equal(0))

	g.Expect(p.Release(context.Background(), runID)).To(Succeed())
	for _, a := range agents {
		g.Eventually(a.Exited()).WithTimeout(10 * time.Second).Should(BeClosed())
		g.Expect(a.ExitCode()).To(Equal(0), "the agent stopped on the shutdown step")
	}
	g.Eventually(func(g Gomega) []string { return append(jobKeys(g, rdb, api), jobKeys(g, rdb, web)...) }).Should(BeEmpty())
	g.Expect(p.Release(context.Background(), runID)).To(Succeed(), "a second release has nothing to do")
}

func TestProvisionFailsWithTheReasonTheReconcilerPosted(t *testing.T) {
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	board := kube.NewBoard()
	p := kube.NewProvisioner(testenv.SharedRedis(t).Client(t), board, kube.ProvisionerOptions{})
	done := provisionAsync(p, request(1, "api", "web"))
	board.Ready(runID, kube.Spec{RunID: runID, Attempt: 1, Repo: "api"}.JobID())
	board.Failed(runID, kube.Spec{RunID: runID, Attempt: 1, Repo: "web"}.JobID(), `ImagePullBackOff: Back-off pulling image "python:9"`)
	var got provisioned
	g.Eventually(done).WithTimeout(10 * time.Second).Should(Receive(&got))
	g.Expect(got.Err).To(MatchError(ContainSubstring(`ImagePullBackOff: Back-off pulling image "python:9"`)))
}

func TestProvisionGivesUpWhenNothingIsReported(t *testing.T) {
	g := NewWithT(t)
	p := kube.NewProvisioner(testenv.SharedRedis(t).Client(t), kube.NewBoard(), kube.ProvisionerOptions{Wait: 50 * time.Millisecond})
	_, err := p.Provision(context.Background(), request(1, "api"))
	g.Expect(err).To(MatchError(context.DeadlineExceeded))
}

func TestProvisionFailsWhenTheAgentNeverHeartbeats(t *testing.T) {
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	board := kube.NewBoard()
	p := kube.NewProvisioner(testenv.SharedRedis(t).Client(t), board, kube.ProvisionerOptions{AgentWait: 100 * time.Millisecond})
	board.Ready(runID, kube.Spec{RunID: runID, Attempt: 1, Repo: "api"}.JobID())
	_, err := p.Provision(context.Background(), request(1, "api"))
	g.Expect(err).To(MatchError(ContainSubstring("gave no heartbeat")))
}
