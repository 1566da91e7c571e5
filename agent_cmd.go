package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/go-logr/logr"

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
func runSandboxAgent(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
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
	fs.StringVar(&opts.RedisURL, "redis-url", getenv("REDIS_URL"), "Redis URL (env REDIS_URL)")
	fs.StringVar(&opts.JobID, "job-id", getenv("JOB_ID"), "job id: [a-z0-9-], at most 100 characters (env JOB_ID)")
	prefix := getenv("REDIS_PREFIX")
	if prefix == "" {
		prefix = sandbox.DefaultPrefix
	}
	fs.StringVar(&opts.Prefix, "prefix", prefix, "prefix of the Redis keys (env REDIS_PREFIX)")
	fs.StringVar(&opts.WorkRoot, "work-root", "", "directory steps are confined to (default the working directory)")
	fs.DurationVar(&opts.IdleTimeout, "idle-timeout", 15*time.Minute, "exit with status 2 when no step came for this long")
	fs.DurationVar(&opts.HeartbeatInterval, "heartbeat-interval", time.Second, "how often the heartbeat key is refreshed (it expires after 3 intervals)")
	verbose := fs.Bool("verbose", false, "log debug messages")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() > 0 {
		return exitWith(stderr, 2, "sandbox-agent: unexpected arguments %q", fs.Args())
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	opts.Logger = logr.FromSlogHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

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

// exitWith tells the user what went wrong and ends the command with code.
func exitWith(stderr io.Writer, code int, format string, args ...any) error {
	_, _ = fmt.Fprintf(stderr, format+"\n", args...)
	return exitError(code)
}
