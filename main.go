// Command agent-smith turns tracker tickets into pull requests.
//
// One static binary plays every part: the orchestrator (serve), the sandbox
// pod's init container (inject), the worker inside the sandbox
// (sandbox-agent), and the operator's tools (run, config, version). The
// commands and the wiring of their parts live in internal/cli.
//
// Of agent-smith it imports internal/cli alone, and nothing else imports
// internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/agent-smith/agent-smith/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.ExitCode(err, os.Stderr))
}
