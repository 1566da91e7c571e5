package kube_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/sandbox/kube"
)

func awaitAsync(b *kube.Board, ctx context.Context, jobs ...string) <-chan error {
	out := make(chan error, 1)
	go func() { out <- b.Await(ctx, runID, jobs) }()
	return out
}

func TestBoardAwaitReturnsOnceEveryJobIsReadyOrOneFailed(t *testing.T) {
	g := NewWithT(t)
	b := kube.NewBoard()
	b.Ready(runID, "job-a") // posted before anyone waits: the board keeps it
	done := awaitAsync(b, context.Background(), "job-a", "job-b")
	g.Consistently(done).WithTimeout(100 * time.Millisecond).ShouldNot(Receive())
	b.Ready(runID, "job-b")
	g.Eventually(done).Should(Receive(BeNil()))

	failing := awaitAsync(b, context.Background(), "job-b", "job-c")
	b.Failed(runID, "job-c", "OOMKilled")
	g.Eventually(failing).Should(Receive(MatchError(ContainSubstring("sandbox job-c: OOMKilled"))))
}

func TestBoardForgetDropsWhatWasPosted(t *testing.T) {
	g := NewWithT(t)
	b := kube.NewBoard()
	b.Ready(runID, "job-a")
	b.Forget(runID)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	g.Expect(b.Await(ctx, runID, []string{"job-a"})).To(MatchError(context.DeadlineExceeded))
}
