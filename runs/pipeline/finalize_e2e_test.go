package pipeline_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/runs"
)

// The bug of issue 15: the sandbox reconciler (same replica, same store)
// fails the run while the worker is still in the ticket step; the worker's
// in-progress label lands after that. The ticket must still end final,
// once: the status comment finished, one failure comment, the failed label
// and no in-progress label, the ticket's claim released.
func TestSandboxReconcilerFailureWhileTheTicketIsReadLeavesTheTicketFinal(t *testing.T) {
	g := NewWithT(t)
	w := newWorld(t, "fix-bug.yaml", "")
	n := w.issue()
	ctx := context.Background()
	failed := make(chan error, 1)
	w.fake.OnNextLabelWrite(repoName, n, func() {
		// What controllers.SandboxReconciler does with a pod the config
		// cannot produce: fail the run at its fence.
		id, err := w.store.ActiveRun(ctx, "issues", strconv.Itoa(n))
		if err != nil {
			failed <- err
			return
		}
		run, err := w.store.Get(ctx, id)
		if err == nil {
			_, err = w.store.Apply(ctx, id, runs.EventFail, runs.Update{Fence: run.Fence, Step: "provision",
				Error: "sandbox calc: secrets value FOO is not written as ${VAR}"})
		}
		failed <- err
	})
	id := w.label(n)
	g.Eventually(failed).WithTimeout(2 * time.Minute).Should(Receive(BeNil()))

	r := w.await(id, runs.StateFailed)
	g.Expect(r.Finalize).To(Equal(runs.FinalizeDone))
	is := w.issueState(n)
	g.Expect(is.Labels).To(ContainElement("agent-smith:failed"))
	g.Expect(is.Labels).NotTo(ContainElement("agent-smith:in-progress"))
	marks := map[string]int{}
	for _, c := range is.Comments {
		first, _, _ := strings.Cut(c.Body, "\n")
		marks[first]++
	}
	g.Expect(marks).To(Equal(map[string]int{
		"<!-- agent-smith:status run=" + id + " -->": 1,
		"<!-- agent-smith:failed run=" + id + " -->": 1,
	}), "one status comment and one failure comment: %q", bodies(is.Comments))
	for _, c := range is.Comments {
		if strings.HasPrefix(c.Body, "<!-- agent-smith:status") {
			g.Expect(c.Body).To(And(ContainSubstring("failed at step `provision`"), Not(ContainSubstring("is working on this"))))
		}
	}
	active, err := w.store.ActiveRun(ctx, "issues", strconv.Itoa(n))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(active).To(BeEmpty(), "the ticket's claim is released once the ticket was told")
}
