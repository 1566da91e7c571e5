package runs_test

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/runs"
)

func TestBranchNamesAreSafeForEveryTrackersIDs(t *testing.T) {
	g := NewWithT(t)
	g.Expect(runs.BranchFor("42")).To(Equal("agent-smith/42"))
	g.Expect(runs.BranchFor("SHOP-12")).To(Equal("agent-smith/SHOP-12"))
	g.Expect(runs.BranchFor("a b/..c")).To(Equal("agent-smith/a-b-..c"))
	g.Expect(runs.WIPBranchFor("42")).To(Equal("agent-smith/42-wip"))
}
