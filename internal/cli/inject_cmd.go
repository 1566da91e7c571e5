package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/agent-smith/agent-smith/internal/cmdline"
	"github.com/agent-smith/agent-smith/sandbox/agent"
	"github.com/agent-smith/agent-smith/sandbox/commands"
)

// runInject is the sandbox pod's init container: `agent-smith inject
// PATH`. It copies the slim agent that lies beside this binary (in the
// image, /agent-smith-agent), not this binary: sandboxes run only the
// sandbox side, and copy a few MB instead of the orchestrator.
func runInject(args []string, env Env, stdout, stderr io.Writer) error {
	c := cmdline.New("inject", "PATH", `agent-smith inject copies the slim agent (`+commands.Binary+`, beside this binary) to PATH,
creating its directory: a sandbox pod's init container puts the agent on the volume its
toolchain container runs it from.`, env, stdout, stderr)
	if err := c.Parse(args); err != nil {
		return err
	}
	if c.FS.NArg() != 1 {
		return c.UsageError("want one PATH, got %d arguments", c.FS.NArg())
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("inject: find own executable: %w", err)
	}
	src := filepath.Join(filepath.Dir(self), commands.Binary)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("inject: the slim agent is not beside %s (the image and make build put %s there): %w", self, commands.Binary, err)
	}
	return agent.Inject(src, c.FS.Arg(0))
}
