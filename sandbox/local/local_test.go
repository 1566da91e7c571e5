package local_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/proctest"
	"github.com/agent-smith/agent-smith/sandbox/local"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newProvisioner(t *testing.T, opts local.Options) (*local.Provisioner, string) {
	t.Helper()
	opts.Client, opts.RedisURL, opts.Executable = testenv.SharedRedis(t).Client(t), testenv.SharedRedis(t).URL(), testenv.AgentBinary(t)
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	p, err := local.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p, opts.Dir
}

// monitor records every command Redis receives until the test ends, as
// redis-cli MONITOR would show them.
func monitor(t *testing.T) func() string {
	conn, err := net.Dial("tcp", testenv.SharedRedis(t).Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || line != "+OK\r\n" {
		t.Fatalf("MONITOR: %q, %v", line, err)
	}
	var mu sync.Mutex
	var b strings.Builder
	go func() {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			mu.Lock()
			b.WriteString(line)
			mu.Unlock()
		}
	}()
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return b.String()
	}
}

func run(argv ...string) sandbox.Step {
	return sandbox.Step{Kind: sandbox.KindRun, Command: argv[0], Args: argv[1:]}
}

func TestProvisionGivesEachRepoAnAgentWithItsCredentialsOutsideRedis(t *testing.T) {
	g := NewWithT(t)
	t.Setenv("ORCHESTRATOR_ONLY_SECRET", "not-for-sandboxes")
	seen := monitor(t)
	p, dir := newProvisioner(t, local.Options{})
	ctx := context.Background()
	sbs, err := p.Provision(ctx, sandbox.ProvisionRequest{RunID: "2026-11-28T10-00-00-ab12", Attempt: 1, Fence: 1764324000123, Repos: []sandbox.RepoSpec{
		{Name: "api", Env: map[string]string{"GIT_TOKEN": "tok-api-5ecret"}},
		{Name: "web", Env: map[string]string{"GIT_TOKEN": "tok-web-5ecret"}},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { g.Expect(p.Release(ctx, "2026-11-28T10-00-00-ab12")).To(Succeed()) })
	g.Expect(sbs).To(HaveKey("api"))
	g.Expect(sbs["api"].JobID()).To(Equal("2026-11-28t10-00-00-ab12-api-1-miioyf7f"), "the job of the start: attempt and fence")

	workDirs := map[string]bool{}
	for repo, sb := range sbs {
		// The command proves it has the token without the token being in
		// the step or in the output.
		res, err := sb.Run(ctx, run("sh", "-c", `test -z "$ORCHESTRATOR_ONLY_SECRET" && printf %s "$GIT_TOKEN" | sha256sum && pwd`), nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.ExitCode).To(Equal(0), "%s sees none of the orchestrator's secrets", repo)
		lines := strings.Fields(res.Stdout)
		sum := sha256.Sum256([]byte("tok-" + repo + "-5ecret"))
		g.Expect(lines[0]).To(Equal(hex.EncodeToString(sum[:])), "%s sees its own token", repo)
		wd := lines[len(lines)-1]
		g.Expect(wd).To(HavePrefix(dir))
		workDirs[wd] = true
	}
	g.Expect(workDirs).To(HaveLen(2), "one work directory per repo")
	g.Eventually(seen).Should(ContainSubstring("pwd"), "the monitor sees the steps")
	g.Expect(seen()).NotTo(ContainSubstring("5ecret"), "credentials never pass through Redis")
}

func TestReleaseStopsAgentsAndRemovesTheirDirectoriesAndKeys(t *testing.T) {
	g := NewWithT(t)
	p, dir := newProvisioner(t, local.Options{})
	ctx := context.Background()
	sbs, err := p.Provision(ctx, sandbox.ProvisionRequest{RunID: "run-1", Repos: []sandbox.RepoSpec{{Name: "one"}, {Name: "two"}}})
	g.Expect(err).NotTo(HaveOccurred())

	// One agent is busy with a long command when the run is released.
	started := make(chan int, 1)
	go func() {
		_, _ = sbs["one"].Run(ctx, run("sh", "-c", "echo $$; exec sleep 300"), func(e sandbox.StepEvent) {
			if e.Kind == sandbox.EventStdout {
				var pid int
				_, _ = fmt.Sscan(e.Lines[0], &pid)
				started <- pid
			}
		})
	}()
	var pid int
	g.Eventually(started).Should(Receive(&pid))
	_, err = sbs["two"].Run(ctx, run("echo", "leave keys behind"), nil)
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(p.Release(ctx, "run-1")).To(Succeed())
	g.Expect(proctest.Gone(pid)).To(BeTrue(), "the running command was stopped")
	g.Expect(os.ReadDir(dir)).To(BeEmpty(), "work directories removed")
	g.Expect(testenv.SharedRedis(t).Client(t).Keys(ctx, "agentsmith:sandbox:run-1-*").Val()).To(BeEmpty())
	g.Expect(p.Release(ctx, "run-1")).To(Succeed(), "releasing twice is harmless")
	_, err = sbs["two"].Run(ctx, run("true"), nil)
	g.Expect(err).To(MatchError(sandbox.ErrReleased))
}

func TestProvisionFailsCleanlyWhenAnAgentCannotStart(t *testing.T) {
	g := NewWithT(t)
	p, dir := newProvisioner(t, local.Options{ReadyTimeout: 5 * time.Second})
	// A Redis URL the agent refuses: it exits with status 2 at once.
	bad, err := local.New(local.Options{Client: testenv.SharedRedis(t).Client(t), RedisURL: "nosuchscheme://x", Executable: testenv.AgentBinary(t), Dir: dir})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = bad.Provision(context.Background(), sandbox.ProvisionRequest{RunID: "run-2", Repos: []sandbox.RepoSpec{{Name: "x"}}})
	g.Expect(err).To(MatchError(And(ContainSubstring("exited before it was ready"), ContainSubstring("redis url"))))
	g.Expect(os.ReadDir(dir)).To(BeEmpty(), "nothing left behind")

	_, err = p.Provision(context.Background(), sandbox.ProvisionRequest{RunID: "run-3", Repos: []sandbox.RepoSpec{{Name: "a"}, {Name: "a"}}})
	g.Expect(err).To(MatchError(ContainSubstring(`repo name "a" empty or repeated`)))
	g.Expect(os.ReadDir(dir)).To(BeEmpty(), "the first repo's agent was stopped again")
}
