package kube_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/sandbox/internal/agenttest"
)

var (
	rds *testenv.Redis
	bin string
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		var err error
		if rds, err = testenv.StartRedis(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer rds.Stop()
		dir, err := os.MkdirTemp("", "agent-smith-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if bin, err = agenttest.Build(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}
