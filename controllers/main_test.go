package controllers

import (
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// The tests that need them share one envtest control plane
// (testenv.SharedCluster) and one redis-server (testenv.SharedRedis),
// started by the first of them; the planner's and the diagnosis' tests
// need neither.
func TestMain(m *testing.M) {
	// Each test hands its managers and reconcilers a logger of its own; the
	// global one (which controller-runtime warns about, with a stack, when
	// it is never set) gets nothing worth keeping.
	ctrllog.SetLogger(logr.Discard())
	testenv.Main(m)
}
