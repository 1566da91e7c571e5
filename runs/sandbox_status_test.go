package runs

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"
)

func TestUpdateRecordsSandboxStatusPerRepoScrubbedAndFencedByStart(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	run := startRun(t, s, 1, "replica-a")

	_, err := s.Update(ctx, run.ID, Update{Fence: run.Fence, Sandboxes: map[string]SandboxStatus{
		"shop-api": {Attempt: 1, Phase: SandboxReady},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	failed := SandboxStatus{Attempt: 1, Phase: SandboxFailed,
		Reason: "ErrImagePull: pulling https://bot:ghp_0123456789abcdefghij0123@registry.example/img failed"}
	got, err := s.Update(ctx, run.ID, Update{Fence: run.Fence, Sandboxes: map[string]SandboxStatus{"shop-web": failed}})
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(got.Sandboxes).To(HaveLen(2), "a record of one repository leaves the other's alone")
	g.Expect(got.Sandboxes["shop-api"]).To(Equal(SandboxStatus{Attempt: 1, Phase: SandboxReady}))
	g.Expect(got.Sandboxes["shop-web"].Phase).To(Equal(SandboxFailed))
	g.Expect(got.Sandboxes["shop-web"].Reason).To(ContainSubstring("ErrImagePull"))
	g.Expect(got.Sandboxes["shop-web"].Reason).NotTo(ContainSubstring("ghp_0123456789"), "the reason is scrubbed before it reaches Redis")
	raw, err := rdb.HGet(ctx, s.runKey(run.ID), sandboxPrefix+"shop-web").Result()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(raw).NotTo(ContainSubstring("ghp_0123456789"))

	reread, err := s.Get(ctx, run.ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(reread.Sandboxes).To(Equal(got.Sandboxes))

	_, err = s.Update(ctx, run.ID, Update{Fence: run.Fence - 1, Sandboxes: map[string]SandboxStatus{"shop-api": {Attempt: 1, Phase: SandboxFailed}}})
	g.Expect(errors.Is(err, ErrLeaseLost)).To(BeTrue(), "a reconciler behind the run's start cannot overwrite it: %v", err)
}
