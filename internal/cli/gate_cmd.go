package cli

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"time"

	"github.com/agent-smith/agent-smith/internal/logging"
	"github.com/agent-smith/agent-smith/internal/nodump"
	"github.com/agent-smith/agent-smith/sandbox/gate"
)

// runSandboxGate is a sandbox pod's git gate: `agent-smith sandbox-gate`,
// a native sidecar beside the toolchain. `sandbox-gate credential OP` is
// the credential helper its git runs. Exit status 2 for bad arguments or
// a toolchain image without git, 3 for a token the API refuses for good.
func runSandboxGate(ctx context.Context, args []string, env Env, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "credential" {
		if len(args) != 2 {
			return exitWith(stderr, 2, "usage: agent-smith sandbox-gate credential get|store|erase")
		}
		if err := gate.Helper(args[1], stdin, stdout); err != nil {
			return exitWith(stderr, 1, "sandbox-gate credential: %v", err)
		}
		return nil
	}
	// The gate holds the git credential during its steps, and its token.
	if err := nodump.Apply(); err != nil {
		return exitWith(stderr, 3, "sandbox-gate: %v", err)
	}
	o, err := parseSandboxGate(args, env, stderr)
	if err != nil {
		return err
	}
	err = gate.Run(ctx, o)
	var usage *gate.UsageError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &usage):
		return exitWith(stderr, 2, "sandbox-gate: %v", err)
	default:
		return exitWith(stderr, 3, "sandbox-gate: %v", err)
	}
}

func parseSandboxGate(args []string, env Env, stderr io.Writer) (gate.RunOptions, error) {
	fs := flag.NewFlagSet("sandbox-gate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := gate.RunOptions{APICert: []byte(env.Get("SANDBOX_API_CA")), Token: env.Get("SANDBOX_TOKEN")}
	fs.StringVar(&o.JobID, "job-id", env.Get("JOB_ID"), "job id (env JOB_ID)")
	fs.StringVar(&o.APIURL, "api-url", env.Get("SANDBOX_API_URL"), "the sandbox API (env SANDBOX_API_URL; its certificate: env SANDBOX_API_CA; the token: env SANDBOX_TOKEN)")
	fs.StringVar(&o.Gate.Remote, "remote", "", "the repository's URL: the only one fetched from and pushed to")
	fs.StringVar(&o.Gate.Branch, "branch", "", "the run's branch: it and its -wip twin are the only branches pushed")
	fs.StringVar(&o.Gate.Dir, "git-dir", "/var/lib/agent-smith/git", "the gate's own directory")
	fs.StringVar(&o.Gate.WorkRoot, "work-root", "/work", "the workspace, where the push bundle is read from")
	fs.Int64Var(&o.Gate.MaxBundleBytes, "max-bundle-bytes", 4<<30, "largest push bundle taken")
	fs.BoolVar(&o.Gate.AllowCIConfigChanges, "allow-ci-config-changes", false, "let pushes change CI configuration")
	fs.DurationVar(&o.AuthGrace, "auth-grace", time.Minute, "exit with status 3 when the sandbox API refused the token for this long")
	logFormat := fs.String("log-format", logging.JSON, "log format: json or console")
	if err := fs.Parse(args); err != nil {
		return o, exitError(2)
	}
	if fs.NArg() > 0 {
		return o, exitWith(stderr, 2, "sandbox-gate: unexpected arguments %q", fs.Args())
	}
	logOpts := logging.Options{Format: *logFormat}
	if err := logOpts.Validate(); err != nil {
		return o, exitWith(stderr, 2, "sandbox-gate: --%v", err)
	}
	if o.Token == "" {
		return o, exitWith(stderr, 2, "sandbox-gate: no token: set SANDBOX_TOKEN")
	}
	self, err := os.Executable()
	if err != nil {
		return o, exitWith(stderr, 3, "sandbox-gate: %v", err)
	}
	o.Gate.Helper = []string{self, "sandbox-gate", "credential"}
	o.Log = logging.New(stderr, logOpts)
	o.Gate.Log = o.Log
	return o, nil
}
