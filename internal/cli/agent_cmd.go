package cli

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"time"

	"github.com/agent-smith/agent-smith/internal/logging"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/agent"
)

// runInject is the sandbox pod's init container: `agent-smith inject PATH`.
func runInject(args []string, stderr io.Writer) error {
	if len(args) != 1 {
		return exitWith(stderr, 2, "usage: agent-smith inject PATH")
	}
	return agent.Inject(args[0])
}

// runSandboxAgent is the worker in a sandbox: `agent-smith sandbox-agent`.
// Exit status 0 after a shutdown step or a termination signal, 2 for bad
// arguments or an idle timeout, 3 for an error it could not recover from.
// As PID 1 it reaps orphans and runs the agent as its child.
func runSandboxAgent(ctx context.Context, args []string, env Env, stderr io.Writer) error {
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
	fs := flag.NewFlagSet("sandbox-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := agent.Options{}
	fs.StringVar(&opts.RedisURL, "redis-url", env.Get("REDIS_URL"), "Redis URL (env REDIS_URL)")
	fs.StringVar(&opts.JobID, "job-id", env.Get("JOB_ID"), "job id: [a-z0-9-], at most 100 characters (env JOB_ID)")
	prefix := env.Get("REDIS_PREFIX")
	if prefix == "" {
		prefix = sandbox.DefaultPrefix
	}
	fs.StringVar(&opts.Prefix, "prefix", prefix, "prefix of the Redis keys (env REDIS_PREFIX)")
	fs.StringVar(&opts.WorkRoot, "work-root", "", "directory steps are confined to (default the working directory)")
	fs.DurationVar(&opts.IdleTimeout, "idle-timeout", 15*time.Minute, "exit with status 2 when no step came for this long")
	fs.DurationVar(&opts.HeartbeatInterval, "heartbeat-interval", time.Second, "how often the heartbeat key is refreshed (it expires after 3 intervals)")
	verbose := fs.Bool("verbose", false, "log debug messages")
	logFormat := fs.String("log-format", logging.JSON, "log format: json or console")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() > 0 {
		return exitWith(stderr, 2, "sandbox-agent: unexpected arguments %q", fs.Args())
	}
	logOpts := logging.Options{Format: *logFormat}
	if err := logOpts.Validate(); err != nil {
		return exitWith(stderr, 2, "sandbox-agent: --%v", err)
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
