package commands

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/agent-smith/agent-smith/internal/cmdline"
	"github.com/agent-smith/agent-smith/internal/version"
)

// Binary is the file name of the slim agent: beside agent-smith in the
// image (and in bin/ after make build), copied into sandboxes by inject.
const Binary = "agent-smith-agent"

const usage = `agent-smith-agent is the agent a sandbox pod's init container injects: the worker in the
sandbox and its git, without the orchestrator.

Usage:
  agent-smith-agent sandbox-agent [flags]   execute sandbox steps
  agent-smith-agent sandbox-gate [flags]    the git of a sandbox (its native sidecar)
  agent-smith-agent version                 print the version

Run "agent-smith-agent COMMAND -h" for a command's flags.
`

// Main runs the slim agent's command args names in env. Its error tells
// the process how to exit (cmdline.ExitCode).
func Main(ctx context.Context, args []string, env cmdline.Env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cmdline.ExitError(2)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "sandbox-agent":
		return Agent(ctx, rest, env, stdout, stderr)
	case "sandbox-gate":
		return Gate(ctx, rest, env, os.Stdin, stdout, stderr)
	case "version":
		_, err := fmt.Fprintf(stdout, "%s %s\n", Binary, version.Version)
		return err
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return cmdline.ExitError(2)
	}
}
