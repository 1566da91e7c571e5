package gate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/agent-smith/agent-smith/sandbox"
)

// The commits' author and committer (the pipeline commits as the same).
const (
	gitName  = "Agent Smith"
	gitEmail = "agent-smith@users.noreply.local"
)

// config is the gate's git configuration, the only one its git reads
// (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL, and a repository of its own).
func (g *Gate) config() string {
	var b strings.Builder
	section := func(name string, kv ...string) {
		b.WriteString("[" + name + "]\n")
		for i := 0; i < len(kv); i += 2 {
			fmt.Fprintf(&b, "\t%s = %s\n", kv[i], kv[i+1])
		}
	}
	// Only the remote's transport; a bundle is imported with file allowed
	// for that one command.
	section("protocol", "allow", "never")
	section(`protocol "`+g.remote.Scheme+`"`, "allow", "always")
	section("core", "hooksPath", "/dev/null", "fsmonitor", "false")
	section("transfer", "fsckObjects", "true")
	section("http", "followRedirects", "false")
	// The empty helper clears any other; then the gate's own.
	section("credential", "helper", `""`, "helper", quoteHelper(g.opts.Helper))
	section("gc", "auto", "0")
	section("user", "name", gitName, "email", gitEmail)
	section("safe", "directory", quoteValue(g.repo))
	return b.String()
}

// quoteHelper writes argv as the shell command git runs the helper with
// (a "!" helper; git appends the operation).
func quoteHelper(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		parts[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return quoteValue("!" + strings.Join(parts, " "))
}

// quoteValue is v as a git config value.
func quoteValue(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// env is the whole environment of the gate's git: nothing is inherited.
func (g *Gate) env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + g.opts.Dir, "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + filepath.Join(g.opts.Dir, "gitconfig"),
		"GIT_TERMINAL_PROMPT=0",
	}
}

// gitError is a git command that failed, with what it said (a push with
// --porcelain says why a ref was refused on stdout).
type gitError struct {
	args   []string
	err    error
	output string
}

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.output)
	if len(msg) > 2000 {
		msg = "…" + msg[len(msg)-2000:]
	}
	return fmt.Sprintf("git %s: %v: %s", strings.Join(e.args, " "), e.err, msg)
}

// run runs git in dir with args. git reaches a credential through the
// gate's helper on an inherited socket (fd 3), answered with cred for the
// remote's host only, once; without cred, nothing is answered.
func (g *Gate) run(ctx context.Context, cred *sandbox.GitCredential, dir string, args ...string) (string, error) {
	return g.runWith(ctx, cred, nil, dir, args...)
}

// runWith is run with stdin.
func (g *Gate) runWith(ctx context.Context, cred *sandbox.GitCredential, stdin io.Reader, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, g.git, args...)
	cmd.Dir = dir
	cmd.Env = g.env()
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	ours, theirs, err := socketPair()
	if err != nil {
		return "", err
	}
	defer func() { _ = ours.Close() }()
	cmd.ExtraFiles = []*os.File{theirs}
	err = cmd.Start()
	_ = theirs.Close() // git has it now
	if err != nil {
		return "", &gitError{args: args, err: err}
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		serveCredential(ours, g.remote, cred)
	}()
	err = cmd.Wait()
	<-served // git and every helper are gone: the socket is at EOF
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return stdout.String(), &gitError{args: args, err: err, output: stderr.String() + stdout.String()}
	}
	return stdout.String(), nil
}

// socketPair is a connected pair of Unix sockets, close-on-exec.
func socketPair() (ours, theirs *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("credential socket: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "credential-gate"), os.NewFile(uintptr(fds[1]), "credential-git"), nil
}
