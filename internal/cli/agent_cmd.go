package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/agent-smith/agent-smith/internal/logging"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/agent"
)

// runInject is the sandbox pod's init container: `agent-smith inject PATH`.
func runInject(args []string, env Env, stdout, stderr io.Writer) error {
	c := newCommand("inject", "PATH", `agent-smith inject copies this binary to PATH, creating its directory: a sandbox pod's
init container puts the agent on the volume its toolchain container runs it from.`, env, stdout, stderr)
	if err := c.parse(args); err != nil {
		return err
	}
	if c.fs.NArg() != 1 {
		return c.usageError("want one PATH, got %d arguments", c.fs.NArg())
	}
	return agent.Inject(c.fs.Arg(0))
}

// The help of `sandbox-agent`.
const (
	agentSummary = `agent-smith sandbox-agent executes the steps of one sandbox job (inside a sandbox pod or a
local sandbox): it takes them from Redis, runs them confined to the work root and sends
bounded results back, with a heartbeat.`
	agentNotes = `Exit status: 0 after a shutdown step or a termination signal, 2 bad arguments or an idle
timeout, 3 an error it could not recover from.
`
)

// runSandboxAgent is the worker in a sandbox: `agent-smith sandbox-agent`.
// Exit status 0 after a shutdown step or a termination signal, 2 for bad
// arguments or an idle timeout, 3 for an error it could not recover from.
// As PID 1 it reaps orphans and runs the agent as its child.
func runSandboxAgent(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	if os.Getpid() == 1 {
		// PID 1 of a container: be its init and run the agent as a child.
		code, err := agent.AsInit(append([]string{"sandbox-agent"}, args...))
		if err != nil {
			return exitWith(stderr, 3, "sandbox-agent: %v", err)
		}
		if code != 0 {
			return exitError(code)
		}
		return nil
	}
	c := newCommand("sandbox-agent", "[flags]", agentSummary, env, stdout, stderr)
	c.notes = agentNotes
	opts := agent.Options{}
	fs := c.fs
	fs.StringVar(&opts.RedisURL, "redis-url", "", "take steps from the Redis at `URL`")
	c.envDefault("redis-url", "REDIS_URL")
	fs.StringVar(&opts.JobID, "job-id", "", "the sandbox job's `ID`: [a-z0-9-], at most 100 characters")
	c.envDefault("job-id", "JOB_ID")
	fs.StringVar(&opts.Prefix, "prefix", sandbox.DefaultPrefix, "`PREFIX` of the Redis keys")
	c.envDefault("prefix", "REDIS_PREFIX")
	fs.StringVar(&opts.WorkRoot, "work-root", "", "confine steps to `DIR` (default the working directory)")
	fs.DurationVar(&opts.IdleTimeout, "idle-timeout", 15*time.Minute, "exit with status 2 when no step came for this long")
	fs.DurationVar(&opts.HeartbeatInterval, "heartbeat-interval", time.Second, "refresh the heartbeat key this often (it expires after 3 intervals)")
	verbose := fs.Bool("verbose", false, "log debug messages")
	logFormat := fs.String("log-format", logging.JSON, "log `FORMAT`: json or console")
	if err := c.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.usageError("unexpected arguments %q", fs.Args())
	}
	logOpts := logging.Options{Format: *logFormat}
	if err := logOpts.Validate(); err != nil {
		return c.usageError("--%v", err)
	}
	if *verbose {
		logOpts.Verbosity = 1
	}
	opts.Logger = logging.New(stderr, logOpts)

	err := agent.Run(ctx, opts)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, agent.ErrIdle), errors.Is(err, agent.ErrUsage):
		return exitWith(stderr, 2, "sandbox-agent: %v", err)
	default:
		return exitWith(stderr, 3, "sandbox-agent: %v", err)
	}
}
