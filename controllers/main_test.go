package controllers

import (
	"fmt"
	"os"
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// cluster is the envtest control plane shared by every test of the package.
var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	var err error
	if cluster, err = testenv.StartCluster(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop envtest:", err)
	}
	os.Exit(code)
}
