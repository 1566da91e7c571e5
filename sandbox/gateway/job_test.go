package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
	"github.com/agent-smith/agent-smith/sandbox/internal/agenttest"
	"github.com/agent-smith/agent-smith/sandbox/internal/proctest"
)

// eventLog collects the events of a step; onEvent runs on another goroutine.
type eventLog struct {
	mu     sync.Mutex
	events []sandbox.StepEvent
}

func (l *eventLog) add(e sandbox.StepEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) all() []sandbox.StepEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sandbox.StepEvent(nil), l.events...)
}

func (l *eventLog) lines(kind sandbox.EventKind) []string {
	var out []string
	for _, e := range l.all() {
		if e.Kind == kind {
			out = append(out, e.Lines...)
		}
	}
	return out
}

func TestEveryStepKindRoundTripsThroughTheSandboxAPI(t *testing.T) {
	g := NewWithT(t)
	s := startGateway(t, gateway.Options{TLS: true})
	j, a := s.startSandbox(t)
	ctx := context.Background()

	g.Expect(sandbox.WriteFile(ctx, j, "src/main.go", "package main\n\nfunc main() {}\n")).To(Succeed())
	g.Expect(os.ReadFile(filepath.Join(a.WorkDir, "src", "main.go"))).To(BeEquivalentTo("package main\n\nfunc main() {}\n"))

	n, err := sandbox.EditFile(ctx, j, sandbox.EditRequest{Path: "src/main.go", OldString: "func main() {}", NewString: "func main() { println(1) }"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n).To(Equal(1))

	_, err = sandbox.ReadFile(ctx, j, sandbox.ReadFileRequest{Path: "/src/../src/main.go", StartLine: 3, WithLineNumbers: true})
	g.Expect(err).To(MatchError(ContainSubstring("outside the work root")), "an absolute path outside the root")
	text, err := sandbox.ReadFile(ctx, j, sandbox.ReadFileRequest{Path: filepath.Join(a.WorkDir, "src/main.go"), StartLine: 3, WithLineNumbers: true})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(text).To(Equal(sandbox.FileText{Content: "     3\tfunc main() { println(1) }\n", TotalLines: 3}))

	listing, err := sandbox.ListFiles(ctx, j, sandbox.ListRequest{MaxDepth: 2, WithSizes: true})
	g.Expect(err).NotTo(HaveOccurred())
	size := int64(len("package main\n\nfunc main() { println(1) }\n"))
	g.Expect(listing.Entries).To(Equal([]sandbox.FileEntry{{Path: "src", IsDir: true}, {Path: "src/main.go", Size: &size}}))

	found, err := sandbox.Grep(ctx, j, sandbox.GrepRequest{Pattern: `println\(\d\)`})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(found.Matches).To(Equal([]sandbox.GrepMatch{{Path: "src/main.go", Line: 3, Text: "func main() { println(1) }"}}))

	tree, err := sandbox.Tree(ctx, j, sandbox.TreeRequest{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tree).To(Equal("./\n  src/\n    main.go\n"))

	_, err = sandbox.ReadFile(ctx, j, sandbox.ReadFileRequest{Path: "missing.txt"})
	var stepErr *sandbox.StepError
	g.Expect(errors.As(err, &stepErr)).To(BeTrue(), "a refusal is a *StepError, got %v", err)
	g.Expect(stepErr.Message).To(ContainSubstring("no such file"))

	var log eventLog
	res, err := j.Run(ctx, run("sh", "-c", "echo out; echo err >&2; exit 3"), log.add)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(And(HaveField("ExitCode", 3), HaveField("Stdout", "out\n"), HaveField("Stderr", "err\n"), HaveField("ErrorMessage", "")))
	events := log.all()
	g.Expect(events[0].Kind).To(Equal(sandbox.EventStarted))
	g.Expect(events[0].Lines).To(Equal([]string{"sh -c echo out; echo err >&2; exit 3"}))
	g.Expect(events[len(events)-1]).To(And(
		HaveField("Kind", sandbox.EventCompleted), HaveField("ExitCode", 3), HaveField("StepID", res.StepID)))
	g.Expect(log.lines(sandbox.EventStdout)).To(Equal([]string{"out"}))
	g.Expect(log.lines(sandbox.EventStderr)).To(Equal([]string{"err"}))

	// kubectl logs of the sandbox tells the step story, a line a step.
	// The lines reach the test through a pipe: they may trail the result.
	g.Eventually(a.Output).Should(And(ContainSubstring(`"msg":"writeFile src/main.go → ok in `), ContainSubstring(`"msg":"listFiles . → ok in `),
		ContainSubstring(`"msg":"readFile missing.txt → error: `), ContainSubstring(`"msg":"$ echo out; echo err >&2; exit 3 → exit 3 in `)))
	g.Expect(a.Output()).NotTo(ContainSubstring("package main"), "what a step writes is not logged")

	// The agent refuses the gate's steps, and the gateway never sends
	// them (nor a credential) to the agent in the first place.
	_, err = j.Run(ctx, sandbox.Step{Kind: sandbox.KindGitPush, Branch: "b", Commit: "c"}, nil)
	g.Expect(err).To(MatchError(ContainSubstring("the gate's, never the agent's")))
	_, err = j.Run(ctx, sandbox.Step{Kind: sandbox.KindRun, Command: "true", Credential: &sandbox.GitCredential{Password: "x"}}, nil)
	g.Expect(err).To(MatchError(ContainSubstring("the gate's, never the agent's")))
}

func TestConcurrentCallersOfOneSandboxEachGetTheirOwnResult(t *testing.T) {
	g := NewWithT(t)
	j, _ := startGateway(t, gateway.Options{}).startSandbox(t)
	const callers = 24
	var wg sync.WaitGroup
	results := make([]sandbox.StepResult, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			results[i], errs[i] = j.Run(context.Background(), run("echo", strconv.Itoa(i)), nil)
		})
	}
	wg.Wait()
	for i := range callers {
		g.Expect(errs[i]).NotTo(HaveOccurred())
		g.Expect(results[i].Stdout).To(Equal(strconv.Itoa(i)+"\n"), "caller %d got another step's result", i)
	}
}

func TestTwoSandboxesOfOneGatewayWorkConcurrently(t *testing.T) {
	g := NewWithT(t)
	s := startGateway(t, gateway.Options{})
	j1, a1 := s.startSandbox(t)
	j2, a2 := s.startSandbox(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, j := range []*gateway.Job{j1, j2} {
		wg.Go(func() {
			for k := range 20 {
				name, want := fmt.Sprintf("f%d.txt", k), fmt.Sprintf("sandbox %d file %d", i, k)
				if err := sandbox.WriteFile(ctx, j, name, want); err != nil {
					errs[i] = err
					return
				}
				res, err := j.Run(ctx, run("cat", name), nil)
				if err != nil || res.Stdout != want {
					errs[i] = fmt.Errorf("cat %s: got %q, %v; want %q", name, res.Stdout, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	g.Expect(errs).To(HaveEach(Not(HaveOccurred())))
	for i, a := range []string{a1.WorkDir, a2.WorkDir} {
		g.Expect(os.ReadFile(filepath.Join(a, "f7.txt"))).To(BeEquivalentTo(fmt.Sprintf("sandbox %d file 7", i)))
	}
}

func TestStepOfKilledAgentFailsWithErrAgentGone(t *testing.T) {
	g := NewWithT(t)
	j, a := startGateway(t, gateway.Options{DeadAfter: 2 * time.Second}).startSandbox(t)
	var log eventLog
	done := make(chan error, 1)
	go func() {
		_, err := j.Run(context.Background(), sandbox.Step{Kind: sandbox.KindRun, Command: "sleep", Args: []string{"300"}, TimeoutSeconds: 3600}, log.add)
		done <- err
	}()
	g.Eventually(log.all).ShouldNot(BeEmpty(), "the step started")
	g.Expect(syscall.Kill(-a.Cmd.Process.Pid, syscall.SIGKILL)).To(Succeed())
	// The step's deadline is an hour away: only the agent's silence ends it.
	var err error
	g.Eventually(done, 30*time.Second).Should(Receive(&err))
	g.Expect(err).To(MatchError(sandbox.ErrAgentGone))
	g.Expect(j.Alive(sandbox.RoleAgent)).To(BeFalse())
}

func TestCancelledCallerStopsItsCommandInTheAgent(t *testing.T) {
	g := NewWithT(t)
	j, _ := startGateway(t, gateway.Options{}).startSandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	var log eventLog
	done := make(chan error, 1)
	go func() {
		_, err := j.Run(ctx, run("sh", "-c", "echo $$; exec sleep 300"), log.add)
		done <- err
	}()
	g.Eventually(func() []string { return log.lines(sandbox.EventStdout) }).Should(HaveLen(1))
	pid, err := strconv.Atoi(log.lines(sandbox.EventStdout)[0])
	g.Expect(err).NotTo(HaveOccurred())
	cancel()
	g.Eventually(done).Should(Receive(MatchError(context.Canceled)))
	g.Eventually(func() bool { return proctest.Gone(pid) }, 10*time.Second).Should(BeTrue(), "the command was killed")
	res, err := j.Run(context.Background(), run("echo", "free again"), nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stdout).To(Equal("free again\n"))
}

func TestQueuedStepPastItsDeadlineFailsWithErrNoResult(t *testing.T) {
	g := NewWithT(t)
	j, _ := startGateway(t, gateway.Options{Grace: time.Second}).startSandbox(t)
	busy, stop := context.WithCancel(context.Background())
	defer stop()
	var log eventLog
	go func() { _, _ = j.Run(busy, run("sleep", "300"), log.add) }()
	g.Eventually(log.all).ShouldNot(BeEmpty(), "the agent is busy")

	_, err := j.Run(context.Background(), sandbox.Step{Kind: sandbox.KindRun, Command: "true", TimeoutSeconds: 1}, nil)
	g.Expect(err).To(MatchError(sandbox.ErrNoResult))
}

func TestOutputOf100MBIsCappedAndTheAgentStaysHealthy(t *testing.T) {
	g := NewWithT(t)
	j, _ := startGateway(t, gateway.Options{TLS: true}).startSandbox(t)
	var log eventLog
	res, err := j.Run(context.Background(), run("sh", "-c", "yes 0123456789012345678901234567890123456789 | head -c 100000000"), log.add)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.ExitCode).To(Equal(0))
	g.Expect(res.StdoutBytes).To(BeEquivalentTo(100_000_000))
	g.Expect(res.Truncated).To(BeTrue())
	g.Expect(res.OutputCapBytes).To(BeEquivalentTo(1 << 20))
	g.Expect(len(res.Stdout)).To(BeNumerically("<=", 1<<20+100))
	g.Expect(res.Stdout).To(ContainSubstring("bytes omitted"))
	g.Expect(res.Stdout).To(HavePrefix("0123456789012345678901234567890123456789\n"))

	// What was streamed stayed within the step's budget.
	streamed := int64(0)
	for _, l := range log.lines(sandbox.EventStdout) {
		streamed += int64(len(l)) + 1
	}
	g.Expect(streamed).To(And(BeNumerically(">", 0), BeNumerically("<=", sandbox.StepEventBudget)))

	g.Expect(j.Alive(sandbox.RoleAgent)).To(BeTrue())
	res, err = j.Run(context.Background(), run("echo", "ok"), nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stdout).To(Equal("ok\n"))
}

func TestReleaseShutsTheAgentDownAndItsJobIsGone(t *testing.T) {
	g := NewWithT(t)
	s := startGateway(t, gateway.Options{})
	j, a := s.startSandbox(t)
	ctx := context.Background()
	_, err := j.Run(ctx, run("echo", "hello"), nil)
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(j.Release(ctx)).To(Succeed())
	g.Eventually(a.Exited(), 10*time.Second).Should(BeClosed())
	g.Expect(a.ExitCode()).To(Equal(0), "a shutdown step ends the agent with status 0")
	_, err = j.Run(ctx, run("true"), nil)
	g.Expect(err).To(MatchError(sandbox.ErrReleased))
	_, err = s.Open(j.JobID())
	g.Expect(err).To(MatchError(sandbox.ErrReleased), "a released job is not opened again")
	g.Expect(j.Release(ctx)).To(Succeed(), "releasing twice is harmless")

	// An agent of the released job that comes late is told to go.
	late := agenttest.Start(t, testenv.AgentBinary(t), s.api(j.JobID()), j.JobID())
	g.Eventually(late.Exited(), 10*time.Second).Should(BeClosed())
	g.Expect(late.ExitCode()).To(Equal(0))
	g.Expect(late.Output()).To(ContainSubstring("released"))
}

func TestReleaseOfABusySandboxCancelsItsStep(t *testing.T) {
	g := NewWithT(t)
	j, a := startGateway(t, gateway.Options{}).startSandbox(t)
	var log eventLog
	type outcome struct {
		res sandbox.StepResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := j.Run(context.Background(), run("sleep", "300"), log.add)
		done <- outcome{res, err}
	}()
	g.Eventually(log.all).ShouldNot(BeEmpty())
	g.Expect(j.Release(context.Background())).To(Succeed())
	g.Eventually(a.Exited(), 10*time.Second).Should(BeClosed())
	g.Expect(a.ExitCode()).To(Equal(0))
	// The caller has either the cancelled step's result or ErrReleased,
	// whichever came first; never a wait for the step's timeout.
	var got outcome
	g.Eventually(done, 5*time.Second).Should(Receive(&got))
	if got.err != nil {
		g.Expect(got.err).To(MatchError(sandbox.ErrReleased))
	} else {
		g.Expect(got.res.Cancelled).To(BeTrue())
	}
}

func TestIdleAgentExitsWithStatus2(t *testing.T) {
	g := NewWithT(t)
	j, a := startGateway(t, gateway.Options{DeadAfter: 200 * time.Millisecond}).startSandbox(t, "--idle-timeout", "1s")
	g.Eventually(a.Exited(), 10*time.Second).Should(BeClosed())
	g.Expect(a.ExitCode()).To(Equal(2))
	g.Eventually(func() bool { return j.Alive(sandbox.RoleAgent) }).Should(BeFalse())
}

// A replica that restarted has a new key: the agents of its old jobs are
// refused, wait a while (a token the API does not know may be a blip) and
// then exit with status 3.
func TestAgentWhoseTokenIsRefusedExitsWithStatus3AfterItsGrace(t *testing.T) {
	g := NewWithT(t)
	s := startGateway(t, gateway.Options{})
	other, err := gateway.New(gateway.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	job := newJobID()
	a := agenttest.Start(t, testenv.AgentBinary(t), agenttest.API{URL: s.url, Token: other.Tokens(job).Agent}, job, "--auth-grace", "1s")
	g.Eventually(a.Exited(), 10*time.Second).Should(BeClosed())
	g.Expect(a.ExitCode()).To(Equal(3))
	g.Expect(a.Output()).To(ContainSubstring("refused the token"))
}

func TestAgentAsPID1ReapsWhatStepsLeaveBehind(t *testing.T) {
	newPIDNamespace := []string{"unshare", "--pid", "--fork", "--mount-proc"}
	if out, err := exec.Command(newPIDNamespace[0], append(newPIDNamespace[1:], "true")...).CombinedOutput(); err != nil {
		t.Skipf("cannot make a PID namespace here (needs root and unshare): %v %s", err, out)
	}
	g := NewWithT(t)
	j, a := startGateway(t, gateway.Options{}).startWrappedSandbox(t, newPIDNamespace)
	ctx := context.Background()
	res, err := j.Run(ctx, run("sh", "-c", "echo $PPID; sleep 0.2 >/dev/null 2>&1 & echo $!"), nil)
	g.Expect(err).NotTo(HaveOccurred())
	out := strings.Fields(res.Stdout)
	g.Expect(out).To(HaveLen(2))
	g.Expect(out[0]).NotTo(Equal("1"), "PID 1 runs the agent as its child")
	// The sleep outlives its shell, is re-parented to PID 1 and must not
	// stay a zombie there.
	g.Eventually(func() (int, error) {
		res, err := j.Run(ctx, run("cat", "/proc/"+out[1]+"/stat"), nil)
		return res.ExitCode, err
	}, 10*time.Second, 100*time.Millisecond).Should(Equal(1), "process %s was reaped", out[1])

	g.Expect(j.Release(ctx)).To(Succeed())
	g.Eventually(a.Exited(), 10*time.Second).Should(BeClosed())
	g.Expect(a.ExitCode()).To(Equal(0), "the agent's exit status passes through PID 1")
}
