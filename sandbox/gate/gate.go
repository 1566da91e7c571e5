package gate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/sandbox"
)

// Options configure a Gate.
type Options struct {
	// Dir is the gate's own directory: its bare repository, its git
	// configuration, the copy of a push bundle. Nobody else may write it.
	Dir string
	// Remote is the only URL the gate fetches from and pushes to: https
	// (http for tests), or a local path.
	Remote string
	// Branch is the run's branch: it and Branch+"-wip" are the only
	// branches the gate pushes.
	Branch string
	// AllowCIConfigChanges lets a push change CI configuration
	// (projects.<p>.allow_ci_config_changes); refused by default.
	AllowCIConfigChanges bool
	// WorkRoot is the workspace, where the push bundle is read from.
	WorkRoot string
	// Helper is the credential helper's argv: this binary's `sandbox-gate
	// credential`.
	Helper []string
	// MaxBundleBytes bounds a push bundle; default 4 GiB.
	MaxBundleBytes int64
	Log            logr.Logger
}

// Gate is the git of one sandbox. Its methods implement sandbox.Gate.
type Gate struct {
	opts   Options
	repo   string // the bare repository
	remote *url.URL
	git    string

	mu sync.Mutex // one git operation at a time
}

var _ sandbox.Gate = (*Gate)(nil)

// refName is what a branch the gate is asked about may look like.
var refName = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,200}$`)

// UsageError is options a gate cannot work with (a remote it will not
// use, no git in the image).
type UsageError struct{ err error }

func (e *UsageError) Error() string { return e.err.Error() }
func (e *UsageError) Unwrap() error { return e.err }

// New checks opts, finds git and prepares the gate's repository and
// configuration (kept if they exist: a restarted gate carries on).
func New(opts Options) (*Gate, error) {
	if opts.MaxBundleBytes <= 0 {
		opts.MaxBundleBytes = 4 << 30
	}
	var errs []error
	remote, err := parseRemote(opts.Remote)
	if err != nil {
		errs = append(errs, err)
	}
	if !validRef(opts.Branch) {
		errs = append(errs, fmt.Errorf("gate: invalid branch %q", opts.Branch))
	}
	if opts.Dir == "" || opts.WorkRoot == "" || len(opts.Helper) == 0 {
		errs = append(errs, errors.New("gate: a directory, a work root and a credential helper are needed"))
	}
	git, err := exec.LookPath("git")
	if err != nil {
		errs = append(errs, errors.New("gate: git is not installed in the toolchain image (it must be: the gate runs the image's git)"))
	}
	if len(errs) > 0 {
		return nil, &UsageError{errors.Join(errs...)}
	}
	g := &Gate{opts: opts, repo: filepath.Join(opts.Dir, "repo.git"), remote: remote, git: git}
	if err := g.prepare(); err != nil {
		return nil, err
	}
	return g, nil
}

// parseRemote accepts https and http URLs without credentials, and local
// paths; anything else would need a credential the gate does not have
// (ssh) or could reach what it should not.
func parseRemote(raw string) (*url.URL, error) {
	if filepath.IsAbs(raw) {
		return &url.URL{Scheme: "file", Path: raw}, nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("gate: remote %q is not a URL", raw)
	case u.User != nil:
		return nil, errors.New("gate: the remote URL must not carry credentials")
	case u.Scheme == "file" && u.Path != "":
		return u, nil
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "":
		return u, nil
	}
	return nil, fmt.Errorf("gate: remote %q: want an https URL or a local path", raw)
}

func validRef(name string) bool {
	return refName.MatchString(name) && !strings.HasPrefix(name, "-") && !strings.Contains(name, "..") &&
		!strings.HasSuffix(name, ".lock") && !strings.HasSuffix(name, "/") && !strings.HasPrefix(name, "/")
}

// allowed reports whether the gate pushes to (and reads) branch.
func (g *Gate) allowed(branch string) bool {
	return branch == g.opts.Branch || branch == g.opts.Branch+"-wip"
}

// objectsDir is the bare repository's object directory: the workspace's
// git alternates.
func (g *Gate) objectsDir() string { return filepath.Join(g.repo, "objects") }

// prepare makes the gate's repository and configuration.
func (g *Gate) prepare() error {
	if err := os.MkdirAll(g.opts.Dir, 0o755); err != nil {
		return fmt.Errorf("gate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(g.opts.Dir, "gitconfig"), []byte(g.config()), 0o644); err != nil {
		return fmt.Errorf("gate: write git configuration: %w", err)
	}
	if _, err := os.Stat(filepath.Join(g.repo, "HEAD")); err == nil {
		return nil
	}
	if _, err := g.run(context.Background(), nil, g.opts.Dir, "init", "--quiet", "--bare", g.repo); err != nil {
		return fmt.Errorf("gate: create its repository: %w", err)
	}
	return nil
}
