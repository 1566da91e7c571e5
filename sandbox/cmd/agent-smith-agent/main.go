// Command agent-smith-agent is the slim agent sandbox pods inject: the
// sandbox-agent and sandbox-gate commands (sandbox/commands) without the
// orchestrator, a static binary a fraction of agent-smith's size, so that a
// sandbox copies a few MB into its volume instead of the whole orchestrator.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/agent-smith/agent-smith/internal/cmdline"
	"github.com/agent-smith/agent-smith/sandbox/commands"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := commands.Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(cmdline.ExitCode(err, commands.Binary, os.Stderr))
}
