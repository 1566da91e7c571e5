package controllers

import (
	"fmt"
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// The envtest control plane and the redis-server shared by every test of
// the package.
var (
	cluster *testenv.Cluster
	rds     *testenv.Redis
)

func TestMain(m *testing.M) {
	// Each test hands its managers and reconcilers a logger of its own; the
	// global one (which controller-runtime warns about, with a stack, when
	// it is never set) gets nothing worth keeping.
	ctrllog.SetLogger(logr.Discard())
	var err error
	if rds, err = testenv.StartRedis(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if cluster, err = testenv.StartCluster(); err != nil {
		rds.Stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop envtest:", err)
	}
	rds.Stop()
	os.Exit(code)
}
