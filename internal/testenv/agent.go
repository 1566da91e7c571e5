package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	// The binary buildAgent makes runs this package: importing it ties the
	// cached results of the tests using it to its source.
	_ "github.com/agent-smith/agent-smith/sandbox/commands"
)

// buildAgent compiles the repository's binary pkg (. for agent-smith) to
// path, through a temporary file and a rename so that concurrent test
// packages never run a half-written binary. It is static (CGO off), as shipped, unless the
// tests run with the race detector: then so does the binary (which needs
// cgo), and the agent the tests start is checked too.
func buildAgent(pkg, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("build agent-smith: %w", err)
	}
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	args, cgo := []string{"build", "-o", tmp}, "CGO_ENABLED=0"
	if race {
		args, cgo = append(args, "-race"), "CGO_ENABLED=1"
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), cgo)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build agent-smith: go build %s: %v\n%s", pkg, err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("build agent-smith: %w", err)
	}
	return nil
}

// BuildSlimAgentBeside builds the slim agent (agent-smith-agent) into the
// directory of the agent-smith binary bin, where inject looks for it, as
// the image lays them out.
func BuildSlimAgentBeside(bin string) error {
	return buildAgent("./sandbox/cmd/agent-smith-agent", filepath.Join(filepath.Dir(bin), "agent-smith-agent"))
}

// buildAgentTemp builds the binary into a temporary directory; stopping
// removes the directory.
func buildAgentTemp() (string, func(), error) {
	dir, err := os.MkdirTemp("", "agent-smith-bin-")
	if err == nil {
		// Tests run the binary as other users too (a pod's uids).
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		return "", nil, fmt.Errorf("build agent-smith: %w", err)
	}
	bin := filepath.Join(dir, "agent-smith")
	if err := errors.Join(buildAgent(".", bin), BuildSlimAgentBeside(bin)); err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	return bin, func() { _ = os.RemoveAll(dir) }, nil
}
