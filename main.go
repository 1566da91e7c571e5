// Command agent-smith turns tracker tickets into pull requests.
//
// One static binary plays every part: the orchestrator (serve), the sandbox
// pod's init container (inject), the worker inside the sandbox
// (sandbox-agent), and the operator's tools (config validate, version).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `agent-smith turns tracker tickets into pull requests.

Usage:
  agent-smith serve [flags]                     run the orchestrator (webhooks, workers, leader duties)
  agent-smith run --project P --ticket T        run one ticket in the foreground, with local sandboxes
  agent-smith config validate [-f FILE]         check agentsmith.yml (default $AGENTSMITH_CONFIG)
  agent-smith config print [-f FILE]            print the resolved configuration, secrets redacted
  agent-smith inject PATH                       copy this binary to PATH (sandbox init container)
  agent-smith sandbox-agent --redis-url URL --job-id ID
                                                execute sandbox steps (inside a sandbox)
  agent-smith version                           print the version

Run "agent-smith COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	var exit exitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		os.Exit(int(exit))
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "agent-smith:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a status code after the command has
// already told the user what went wrong.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError(2)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "version":
		fmt.Fprintln(stdout, "agent-smith", version)
		return nil
	case "config":
		return runConfig(rest, getenv, stdout, stderr)
	case "inject":
		return runInject(rest, stderr)
	case "sandbox-agent":
		return runSandboxAgent(ctx, rest, getenv, stderr)
	case "serve":
		return runServe(ctx, rest, getenv, stderr)
	case "run":
		return runRun(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return exitError(2)
	}
}
