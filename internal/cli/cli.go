// Package cli is agent-smith's command line and its composition root: it
// parses each command's flags and environment, builds the parts a command
// needs from the configuration, and runs them. It is the only package that
// knows every concrete type (trackers, model providers, sandbox backends,
// the Redis connection); the packages it wires know each other only through
// interfaces. Nothing imports cli but main.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/agent-smith/agent-smith/internal/cmdline"
	"github.com/agent-smith/agent-smith/internal/version"
	"github.com/agent-smith/agent-smith/sandbox/commands"
)

const usage = `agent-smith turns tracker tickets into pull requests.

Usage:
  agent-smith serve [flags]                     run the orchestrator (webhooks, workers, leader duties)
  agent-smith run --project PROJECT --ticket ID [flags]
                                                run one ticket in the foreground, with local sandboxes
  agent-smith runs list|get|logs|cancel|retry   see and steer the runs of an orchestrator (its run API)
  agent-smith config validate [-c FILE]         check agentsmith.yml (default $AGENTSMITH_CONFIG)
  agent-smith config print [-c FILE]            print the resolved configuration, secrets redacted
  agent-smith inject PATH                       copy the slim agent to PATH (sandbox init container)
  agent-smith sandbox-agent [flags]             execute sandbox steps (inside a sandbox)
  agent-smith sandbox-gate [flags]              the git of a sandbox (its native sidecar)
  agent-smith version                           print the version and the image it belongs to

Run "agent-smith COMMAND -h" for a command's flags.
`

// Env is the environment a command sees (cmdline.Env).
type Env = cmdline.Env

// Main runs the command args names in env. Its error tells the process how
// to exit (ExitCode).
func Main(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cmdline.ExitError(2)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "version":
		return runVersion(rest, env, stdout, stderr)
	case "config":
		return runConfig(rest, env, stdout, stderr)
	case "inject":
		return runInject(rest, env, stdout, stderr)
	case "sandbox-agent":
		return commands.Agent(ctx, rest, env, stdout, stderr)
	case "sandbox-gate":
		return commands.Gate(ctx, rest, env, os.Stdin, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, env, stdout, stderr)
	case "run":
		return runRun(ctx, rest, env, stdout, stderr)
	case "runs":
		return runRuns(ctx, rest, env, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return cmdline.ExitError(2)
	}
}

// runVersion implements `agent-smith version`: the release and the image
// sandbox pods inject the agent from unless the config names another.
func runVersion(args []string, env Env, stdout, stderr io.Writer) error {
	c := cmdline.New("version", "", "agent-smith version prints the release of this binary and the image it is published as\n"+
		"(the default sandbox.agent_image).", env, stdout, stderr)
	if err := c.Parse(args); err != nil {
		return err
	}
	if c.FS.NArg() > 0 {
		return c.UsageError("unexpected argument %q", c.FS.Arg(0))
	}
	_, err := fmt.Fprintf(stdout, "agent-smith %s\nimage %s\n", version.Version, version.OwnImage())
	return err
}

// ExitCode is the process exit status for Main's error. An error the
// command has not already told the user about is written to stderr.
func ExitCode(err error, stderr io.Writer) int { return cmdline.ExitCode(err, "agent-smith", stderr) }
