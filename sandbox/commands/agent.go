package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/internal/cmdline"
	"github.com/agent-smith/agent-smith/internal/logging"
	"github.com/agent-smith/agent-smith/internal/nodump"
	"github.com/agent-smith/agent-smith/sandbox/agent"
)

// The help of `sandbox-agent`.
const (
	agentSummary = `agent-smith sandbox-agent executes the steps of one sandbox job (inside a sandbox pod or a
local sandbox): it takes them from the sandbox API of the orchestrator replica that owns the
run, runs them confined to the work root and sends bounded, scrubbed results back.`
	agentNotes = `Environment:
  SANDBOX_API_CA   the sandbox API's certificate (PEM), pinned; required for https
  SANDBOX_TOKEN    the job's agent token, unless --token-stdin

Exit status: 0 after a shutdown step, the sandbox's release or a termination signal, 2 bad
arguments or an idle timeout, 3 an error it could not recover from (a token the API refuses
for good).
`
)

// Agent is the worker in a sandbox: `sandbox-agent`.
// Exit status 0 after a shutdown step, the sandbox's release or a
// termination signal; 2 for bad arguments or an idle timeout; 3 for an
// error it could not recover from (a token the API refuses for good). As
// PID 1 it reaps orphans and runs the agent as its child.
//
// The process is made non-dumpable before anything else: the commands it
// runs have its uid, and must not read its token out of /proc.
func Agent(ctx context.Context, args []string, env cmdline.Env, stdout, stderr io.Writer) error {
	if err := nodump.Apply(); err != nil {
		return cmdline.ExitWith(stderr, 3, "sandbox-agent: %v", err)
	}
	if os.Getpid() == 1 {
		// PID 1 of a container: be its init and run the agent as a child.
		code, err := agent.AsInit(append([]string{"sandbox-agent"}, args...))
		if err != nil {
			return cmdline.ExitWith(stderr, 3, "sandbox-agent: %v", err)
		}
		if code != 0 {
			return cmdline.ExitError(code)
		}
		return nil
	}
	opts, tokenStdin, err := parseAgent(args, env, stdout, stderr)
	if err != nil {
		return err
	}
	if tokenStdin {
		if opts.Token, err = tokenFromStdin(os.Stdin); err != nil {
			return cmdline.ExitWith(stderr, 2, "sandbox-agent: --token-stdin: %v", err)
		}
	}
	err = agent.Run(ctx, opts)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, agent.ErrIdle), errors.Is(err, agent.ErrUsage):
		return cmdline.ExitWith(stderr, 2, "sandbox-agent: %v", err)
	default:
		return cmdline.ExitWith(stderr, 3, "sandbox-agent: %v", err)
	}
}

// parseAgent reads the agent's flags and environment; it says
// whether the token is to come over stdin.
func parseAgent(args []string, env cmdline.Env, stdout, stderr io.Writer) (agent.Options, bool, error) {
	c := cmdline.New("sandbox-agent", "[flags]", agentSummary, env, stdout, stderr)
	c.Notes = agentNotes
	opts := agent.Options{APICert: []byte(env.Get("SANDBOX_API_CA")), Token: env.Get("SANDBOX_TOKEN")}
	fs := c.FS
	fs.StringVar(&opts.JobID, "job-id", "", "the sandbox job's `ID`: [a-z0-9-], at most 100 characters")
	c.EnvDefault("job-id", "JOB_ID")
	fs.StringVar(&opts.APIURL, "api-url", "", "take steps from the sandbox API at `URL`")
	c.EnvDefault("api-url", "SANDBOX_API_URL")
	tokenStdin := fs.Bool("token-stdin", false, "read the token from stdin, a socket, once this process is non-dumpable")
	fs.StringVar(&opts.WorkRoot, "work-root", "", "confine steps to `DIR` (default the working directory)")
	fs.DurationVar(&opts.IdleTimeout, "idle-timeout", 15*time.Minute, "exit with status 2 when no step came for this long")
	fs.DurationVar(&opts.AuthGrace, "auth-grace", time.Minute, "exit with status 3 when the sandbox API refused the token for this long")
	verbose := fs.Bool("verbose", false, "log debug messages")
	logFormat := fs.String("log-format", logging.JSON, "log `FORMAT`: json or console")
	if err := c.Parse(args); err != nil {
		return opts, false, err
	}
	if fs.NArg() > 0 {
		return opts, false, c.UsageError("unexpected arguments %q", fs.Args())
	}
	logOpts := logging.Options{Format: *logFormat}
	if err := logOpts.Validate(); err != nil {
		return opts, false, c.UsageError("--%v", err)
	}
	if *verbose {
		logOpts.Verbosity = 1
	}
	if !*tokenStdin && opts.Token == "" {
		return opts, false, c.UsageError("no token: set SANDBOX_TOKEN or pass --token-stdin")
	}
	opts.Logger = logging.New(stderr, logOpts)
	return opts, *tokenStdin, nil
}

// tokenFromStdin is the local backend's handshake: stdin is a socket to
// the orchestrator, which sends the token once the agent says it is
// non-dumpable (a token in the environment would be readable through
// /proc before that). Stdin is closed after.
func tokenFromStdin(stdin *os.File) (string, error) {
	defer func() { _ = stdin.Close() }()
	if _, err := stdin.WriteString("nodump\n"); err != nil {
		return "", fmt.Errorf("announce: %w", err)
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	token := strings.TrimSpace(line)
	if token == "" {
		return "", errors.New("empty token")
	}
	return token, nil
}
