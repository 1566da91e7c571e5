package kubelet

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/agent-smith/agent-smith/internal/testenv"
	// The binary BuildAgent makes runs this package: importing it ties the
	// cached results of the tests using it to its source.
	_ "github.com/agent-smith/agent-smith/sandbox/agent"
)

// BuildAgent compiles the repository's agent-smith binary (CGO off, as
// shipped) to path, through a temporary file and a rename so that
// concurrent test packages never run a half-written binary.
func BuildAgent(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, ".")
	cmd.Dir = testenv.RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return os.Rename(tmp, path)
}
