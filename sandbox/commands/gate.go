package commands

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/agent-smith/agent-smith/internal/cmdline"
	"github.com/agent-smith/agent-smith/internal/logging"
	"github.com/agent-smith/agent-smith/internal/nodump"
	"github.com/agent-smith/agent-smith/sandbox/gate"
)

// The help of `sandbox-gate`.
const (
	gateSummary = `agent-smith sandbox-gate is the git of one sandbox job (a sandbox pod's native sidecar): it
takes fetch and push steps from the sandbox API, fetches into a repository of its own and
pushes only the run's branches to the repository's URL, with a credential it gets step by
step. "sandbox-gate credential get|store|erase" is the credential helper its git runs.`
	gateNotes = `Environment:
  SANDBOX_API_CA   the sandbox API's certificate (PEM), pinned; required for https
  SANDBOX_TOKEN    the job's gate token

Exit status: 0 after the sandbox's release or a termination signal, 2 bad arguments or a
toolchain image without git, 3 a token the sandbox API refuses for good.
`
)

// Gate is a sandbox pod's git gate: `agent-smith sandbox-gate`,
// a native sidecar beside the toolchain. `sandbox-gate credential OP` is
// the credential helper its git runs. Exit status 2 for bad arguments or
// a toolchain image without git, 3 for a token the API refuses for good.
func Gate(ctx context.Context, args []string, env cmdline.Env, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "credential" {
		if len(args) != 2 {
			return cmdline.ExitWith(stderr, 2, "usage: agent-smith sandbox-gate credential get|store|erase")
		}
		if err := gate.Helper(args[1], stdin, stdout); err != nil {
			return cmdline.ExitWith(stderr, 1, "sandbox-gate credential: %v", err)
		}
		return nil
	}
	// The gate holds the git credential during its steps, and its token.
	if err := nodump.Apply(); err != nil {
		return cmdline.ExitWith(stderr, 3, "sandbox-gate: %v", err)
	}
	o, err := parseGate(args, env, stdout, stderr)
	if err != nil {
		return err
	}
	err = gate.Run(ctx, o)
	var usage *gate.UsageError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &usage):
		return cmdline.ExitWith(stderr, 2, "sandbox-gate: %v", err)
	default:
		return cmdline.ExitWith(stderr, 3, "sandbox-gate: %v", err)
	}
}

func parseGate(args []string, env cmdline.Env, stdout, stderr io.Writer) (gate.RunOptions, error) {
	c := cmdline.New("sandbox-gate", "--job-id ID --remote URL --branch BRANCH [flags]", gateSummary, env, stdout, stderr)
	c.Notes = gateNotes
	o := gate.RunOptions{APICert: []byte(env.Get("SANDBOX_API_CA")), Token: env.Get("SANDBOX_TOKEN")}
	fs := c.FS
	fs.StringVar(&o.JobID, "job-id", "", "the sandbox job's `ID`")
	c.EnvDefault("job-id", "JOB_ID")
	fs.StringVar(&o.APIURL, "api-url", "", "take steps from the sandbox API at `URL`")
	c.EnvDefault("api-url", "SANDBOX_API_URL")
	fs.StringVar(&o.Gate.Remote, "remote", "", "the repository's `URL`: the only one fetched from and pushed to")
	fs.StringVar(&o.Gate.Branch, "branch", "", "the run's `BRANCH`: it and its -wip twin are the only branches pushed")
	fs.StringVar(&o.Gate.Dir, "git-dir", "/var/lib/agent-smith/git", "the gate's own `DIR`")
	fs.StringVar(&o.Gate.WorkRoot, "work-root", "/work", "the workspace `DIR`, where the push bundle is read from")
	fs.Int64Var(&o.Gate.MaxBundleBytes, "max-bundle-bytes", 4<<30, "largest push bundle taken, in `BYTES`")
	fs.BoolVar(&o.Gate.AllowCIConfigChanges, "allow-ci-config-changes", false, "let pushes change CI configuration")
	fs.DurationVar(&o.AuthGrace, "auth-grace", time.Minute, "exit with status 3 when the sandbox API refused the token for this long")
	logFormat := fs.String("log-format", logging.JSON, "log `FORMAT`: json or console")
	if err := c.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, c.UsageError("unexpected arguments %q", fs.Args())
	}
	logOpts := logging.Options{Format: *logFormat}
	if err := logOpts.Validate(); err != nil {
		return o, c.UsageError("--%v", err)
	}
	if o.Token == "" {
		return o, c.UsageError("no token: set SANDBOX_TOKEN")
	}
	self, err := os.Executable()
	if err != nil {
		return o, cmdline.ExitWith(stderr, 3, "sandbox-gate: %v", err)
	}
	o.Gate.Helper = []string{self, "sandbox-gate", "credential"}
	o.Log = logging.New(stderr, logOpts)
	o.Gate.Log = o.Log
	return o, nil
}
