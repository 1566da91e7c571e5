package local_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/githttp"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs/pipeline/pipelinetest"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/proctest"
	"github.com/agent-smith/agent-smith/sandbox/local"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newProvisioner(t *testing.T, opts local.Options) (*local.Provisioner, string) {
	t.Helper()
	if opts.Executable == "" {
		opts.Executable = testenv.AgentBinary(t)
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	p, err := local.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, opts.Dir
}

func run(argv ...string) sandbox.Step {
	return sandbox.Step{Kind: sandbox.KindRun, Command: argv[0], Args: argv[1:]}
}

const gitToken = "ghp_localGateTokenThatNoStepMaySee0123"

// remote is a bare repository served over smart HTTP behind the token.
func remote(t *testing.T) (url, bare string) {
	t.Helper()
	bare = pipelinetest.BareRepo(t, pipelinetest.Calc)
	srv := githttp.New(func(_, password string) bool { return password == gitToken })
	srv.Add("/acme/calc", bare)
	web := httptest.NewServer(srv.Wrap(http.NotFoundHandler()))
	t.Cleanup(web.Close)
	return web.URL + "/acme/calc", bare
}

func TestProvisionGivesEachRepoAnAgentAndAGateAndNoStepACredential(t *testing.T) {
	g := NewWithT(t)
	t.Setenv("ORCHESTRATOR_ONLY_SECRET", "not-for-sandboxes")
	url, bare := remote(t)
	p, dir := newProvisioner(t, local.Options{})
	ctx := context.Background()
	got, err := p.Provision(ctx, sandbox.ProvisionRequest{RunID: "2026-11-28T10-00-00-ab12", Attempt: 1, Fence: 1764324000123, Repos: []sandbox.RepoSpec{
		{Name: "api", RemoteURL: url, Branch: "agent-smith/7"},
		{Name: "web", RemoteURL: url, Branch: "agent-smith/7"},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { g.Expect(p.Release(ctx, "2026-11-28T10-00-00-ab12")).To(Succeed()) })
	g.Expect(got["api"].Work.JobID()).To(Equal("2026-11-28t10-00-00-ab12-api-1-miioyf7f"), "the job of the start: attempt and fence")

	workDirs := map[string]bool{}
	for repo, sb := range got {
		res, err := sb.Work.Run(ctx, run("sh", "-c", `env; echo "pwd=$(pwd)"`), nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.Stdout).NotTo(ContainSubstring("ORCHESTRATOR_ONLY_SECRET"), "%s sees none of the orchestrator's secrets", repo)
		g.Expect(res.Stdout).NotTo(Or(ContainSubstring("SANDBOX_"), ContainSubstring(gitToken)), "nor the agent's own settings")
		wd := strings.TrimPrefix(res.Stdout[strings.LastIndex(res.Stdout, "pwd="):], "pwd=")
		g.Expect(wd).To(HavePrefix(dir))
		workDirs[strings.TrimSpace(wd)] = true
	}
	g.Expect(workDirs).To(HaveLen(2), "one work directory per repo")

	// The gate fetches with the credential; the workspace reads its
	// objects and hands its commit back as a bundle; the gate pushes it.
	api := got["api"]
	cred := &sandbox.GitCredential{Username: "x-access-token", Password: gitToken}
	fetched, err := api.Git.Fetch(ctx, sandbox.FetchRequest{Branch: "agent-smith/7", Credential: cred})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fetched.Base).To(Equal("main"))
	g.Expect(sandbox.WriteFile(ctx, api.Work, ".git/objects/info/alternates", fetched.ObjectsDir+"\n")).NotTo(HaveOccurred())
	script := fmt.Sprintf(`git init -q && git update-ref refs/remotes/origin/main %[1]s && git checkout -q -b agent-smith/7 %[1]s &&
echo fixed > add.sh && git -c user.name=a -c user.email=a@a commit -qam fix && mkdir -p .git/agent-smith &&
git bundle create -q %[2]s HEAD ^%[1]s && git rev-parse HEAD`, fetched.BaseSHA, sandbox.PushBundle)
	res, err := api.Work.Run(ctx, run("sh", "-c", script), nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.ExitCode).To(Equal(0), res.Stderr)
	head := strings.TrimSpace(res.Stdout)
	pushed, err := api.Git.Push(ctx, sandbox.PushRequest{Branch: "agent-smith/7", Commit: head, Credential: cred})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pushed).To(Equal(sandbox.PushResult{Pushed: true, RemoteSHA: head}))
	g.Expect(pipelinetest.Git(t, bare, "rev-parse", "agent-smith/7")).To(Equal(head))
}

func TestReleaseStopsAgentsAndRemovesTheirDirectories(t *testing.T) {
	g := NewWithT(t)
	p, dir := newProvisioner(t, local.Options{})
	ctx := context.Background()
	got, err := p.Provision(ctx, sandbox.ProvisionRequest{RunID: "run-1", Repos: []sandbox.RepoSpec{{Name: "one"}, {Name: "two"}}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got["one"].Git).To(BeNil(), "no remote, no gate")

	// One agent is busy with a long command when the run is released.
	started := make(chan int, 1)
	go func() {
		_, _ = got["one"].Work.Run(ctx, run("sh", "-c", "echo $$; exec sleep 300"), func(e sandbox.StepEvent) {
			if e.Kind == sandbox.EventStdout {
				var pid int
				_, _ = fmt.Sscan(e.Lines[0], &pid)
				started <- pid
			}
		})
	}()
	var pid int
	g.Eventually(started).Should(Receive(&pid))

	g.Expect(p.Release(ctx, "run-1")).To(Succeed())
	g.Expect(proctest.Gone(pid)).To(BeTrue(), "the running command was stopped")
	g.Expect(os.ReadDir(dir)).To(BeEmpty(), "work directories removed")
	g.Expect(p.Release(ctx, "run-1")).To(Succeed(), "releasing twice is harmless")
	_, err = got["two"].Work.Run(ctx, run("true"), nil)
	g.Expect(err).To(MatchError(sandbox.ErrReleased))
}

func TestReleaseFailedKeepsTheWorkDirectoryForTheKeepTimeWithNoAgentLeft(t *testing.T) {
	g := NewWithT(t)
	p, dir := newProvisioner(t, local.Options{KeepFailed: 300 * time.Millisecond})
	ctx := context.Background()
	got, err := p.Provision(ctx, sandbox.ProvisionRequest{RunID: "run-kept", Repos: []sandbox.RepoSpec{{Name: "one"}}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(sandbox.WriteFile(ctx, got["one"].Work, "notes.txt", "what the run left")).To(Succeed())
	res, err := got["one"].Work.Run(ctx, run("sh", "-c", "echo $PPID"), nil)
	g.Expect(err).NotTo(HaveOccurred())
	var agent int
	_, _ = fmt.Sscan(res.Stdout, &agent)
	g.Expect(agent).To(BeNumerically(">", 1))

	g.Expect(p.ReleaseFailed(ctx, "run-kept")).To(Succeed())

	g.Expect(proctest.Gone(agent)).To(BeTrue(), "the agent is stopped: nothing acts for the run any more")
	_, err = got["one"].Work.Run(ctx, run("true"), nil)
	g.Expect(err).To(MatchError(sandbox.ErrReleased))
	kept, err := filepath.Glob(filepath.Join(dir, "*", "work", "notes.txt"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(kept).To(HaveLen(1), "the failed run's workspace is kept")
	g.Eventually(func() ([]os.DirEntry, error) { return os.ReadDir(dir) }).WithTimeout(10*time.Second).Should(BeEmpty(),
		"and removed once the keep time is over")
}

func TestReleaseFailedWithoutKeepingRemovesTheWorkDirectoryAtOnce(t *testing.T) {
	g := NewWithT(t)
	p, dir := newProvisioner(t, local.Options{})
	ctx := context.Background()
	_, err := p.Provision(ctx, sandbox.ProvisionRequest{RunID: "run-gone", Repos: []sandbox.RepoSpec{{Name: "one"}}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.ReleaseFailed(ctx, "run-gone")).To(Succeed())
	g.Expect(os.ReadDir(dir)).To(BeEmpty())
}

func TestProvisionFailsCleanlyWhenAnAgentCannotStart(t *testing.T) {
	g := NewWithT(t)
	// An executable that is no agent: it never takes its token.
	notAnAgent := filepath.Join(t.TempDir(), "not-an-agent")
	g.Expect(os.WriteFile(notAnAgent, []byte("#!/bin/sh\necho not an agent >&2\nexit 2\n"), 0o755)).To(Succeed())
	p, dir := newProvisioner(t, local.Options{Executable: notAnAgent, ReadyTimeout: 5 * time.Second})
	_, err := p.Provision(context.Background(), sandbox.ProvisionRequest{RunID: "run-2", Repos: []sandbox.RepoSpec{{Name: "x"}}})
	g.Expect(err).To(MatchError(And(ContainSubstring("did not take its token"), ContainSubstring("not an agent"))))
	g.Expect(os.ReadDir(dir)).To(BeEmpty(), "nothing left behind")

	good, dir := newProvisioner(t, local.Options{})
	_, err = good.Provision(context.Background(), sandbox.ProvisionRequest{RunID: "run-3", Repos: []sandbox.RepoSpec{{Name: "a"}, {Name: "a"}}})
	g.Expect(err).To(MatchError(ContainSubstring(`repo name "a" empty or repeated`)))
	g.Expect(os.ReadDir(dir)).To(BeEmpty(), "the first repo's agent was stopped again")
}
