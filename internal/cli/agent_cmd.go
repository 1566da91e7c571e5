package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/internal/logging"
	"github.com/agent-smith/agent-smith/internal/nodump"
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
// Exit status 0 after a shutdown step, the sandbox's release or a
// termination signal; 2 for bad arguments or an idle timeout; 3 for an
// error it could not recover from (a token the API refuses for good). As
// PID 1 it reaps orphans and runs the agent as its child.
//
// The process is made non-dumpable before anything else: the commands it
// runs have its uid, and must not read its token out of /proc.
func runSandboxAgent(ctx context.Context, args []string, env Env, stderr io.Writer) error {
	if err := nodump.Apply(); err != nil {
		return exitWith(stderr, 3, "sandbox-agent: %v", err)
	}
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
	opts, logOpts, tokenStdin, err := parseSandboxAgent(args, env, stderr)
	if err != nil {
		return err
	}
	if tokenStdin {
		if opts.Token, err = tokenFromStdin(os.Stdin); err != nil {
			return exitWith(stderr, 2, "sandbox-agent: --token-stdin: %v", err)
		}
	}
	opts.Logger = logging.New(stderr, logOpts)
	err = agent.Run(ctx, opts)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, agent.ErrIdle), errors.Is(err, agent.ErrUsage):
		return exitWith(stderr, 2, "sandbox-agent: %v", err)
	default:
		return exitWith(stderr, 3, "sandbox-agent: %v", err)
	}
}

func parseSandboxAgent(args []string, env Env, stderr io.Writer) (agent.Options, logging.Options, bool, error) {
	fs := flag.NewFlagSet("sandbox-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := agent.Options{APICert: []byte(env.Get("SANDBOX_API_CA")), Token: env.Get("SANDBOX_TOKEN")}
	fs.StringVar(&opts.JobID, "job-id", env.Get("JOB_ID"), "job id: [a-z0-9-], at most 100 characters (env JOB_ID)")
	fs.StringVar(&opts.APIURL, "api-url", env.Get("SANDBOX_API_URL"), "the sandbox API of the orchestrator (env SANDBOX_API_URL; its certificate: env SANDBOX_API_CA)")
	tokenStdin := fs.Bool("token-stdin", false, "read the token from stdin, a socket, once this process is non-dumpable (else env SANDBOX_TOKEN)")
	fs.StringVar(&opts.WorkRoot, "work-root", "", "directory steps are confined to (default the working directory)")
	fs.DurationVar(&opts.IdleTimeout, "idle-timeout", 15*time.Minute, "exit with status 2 when no step came for this long")
	fs.DurationVar(&opts.AuthGrace, "auth-grace", time.Minute, "exit with status 3 when the sandbox API refused the token for this long")
	verbose := fs.Bool("verbose", false, "log debug messages")
	logFormat := fs.String("log-format", logging.JSON, "log format: json or console")
	if err := fs.Parse(args); err != nil {
		return opts, logging.Options{}, false, exitError(2)
	}
	if fs.NArg() > 0 {
		return opts, logging.Options{}, false, exitWith(stderr, 2, "sandbox-agent: unexpected arguments %q", fs.Args())
	}
	logOpts := logging.Options{Format: *logFormat}
	if err := logOpts.Validate(); err != nil {
		return opts, logOpts, false, exitWith(stderr, 2, "sandbox-agent: --%v", err)
	}
	if *verbose {
		logOpts.Verbosity = 1
	}
	if !*tokenStdin && opts.Token == "" {
		return opts, logOpts, false, exitWith(stderr, 2, "sandbox-agent: no token: set SANDBOX_TOKEN or pass --token-stdin")
	}
	return opts, logOpts, *tokenStdin, nil
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
