package pipeline_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// The end-to-end tests run real sandboxes: the agent-smith binary built
// from this checkout, started by the local provisioner, spoken to through
// the package's redis-server.
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
		defer func() { _ = os.RemoveAll(dir) }()
		bin = filepath.Join(dir, "agent-smith")
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Dir = testenv.RepoRoot()
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build agent-smith: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}())
}
