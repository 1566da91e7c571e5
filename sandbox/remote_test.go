package sandbox_test

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

func TestEveryStepKindRoundTripsThroughRedis(t *testing.T) {
	g := NewWithT(t)
	r, a := startSandbox(t, sandbox.RemoteOptions{})
	ctx := context.Background()

	g.Expect(sandbox.WriteFile(ctx, r, "src/main.go", "package main\n\nfunc main() {}\n")).To(Succeed())
	g.Expect(os.ReadFile(filepath.Join(a.WorkDir, "src", "main.go"))).To(BeEquivalentTo("package main\n\nfunc main() {}\n"))

	n, err := sandbox.EditFile(ctx, r, sandbox.EditRequest{Path: "src/main.go", OldString: "func main() {}", NewString: "func main() { println(1) }"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n).To(Equal(1))

	_, err = sandbox.ReadFile(ctx, r, sandbox.ReadFileRequest{Path: "/src/../src/main.go", StartLine: 3, WithLineNumbers: true})
	g.Expect(err).To(MatchError(ContainSubstring("outside the work root")), "an absolute path outside the root")
	text, err := sandbox.ReadFile(ctx, r, sandbox.ReadFileRequest{Path: filepath.Join(a.WorkDir, "src/main.go"), StartLine: 3, WithLineNumbers: true})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(text).To(Equal(sandbox.FileText{Content: "     3\tfunc main() { println(1) }\n", TotalLines: 3}))

	listing, err := sandbox.ListFiles(ctx, r, sandbox.ListRequest{MaxDepth: 2, WithSizes: true})
	g.Expect(err).NotTo(HaveOccurred())
	size := int64(len("package main\n\nfunc main() { println(1) }\n"))
	g.Expect(listing.Entries).To(Equal([]sandbox.FileEntry{{Path: "src", IsDir: true}, {Path: "src/main.go", Size: &size}}))

	found, err := sandbox.Grep(ctx, r, sandbox.GrepRequest{Pattern: `println\(\d\)`})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(found.Matches).To(Equal([]sandbox.GrepMatch{{Path: "src/main.go", Line: 3, Text: "func main() { println(1) }"}}))

	tree, err := sandbox.Tree(ctx, r, sandbox.TreeRequest{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tree).To(Equal("./\n  src/\n    main.go\n"))

	_, err = sandbox.ReadFile(ctx, r, sandbox.ReadFileRequest{Path: "missing.txt"})
	var stepErr *sandbox.StepError
	g.Expect(errors.As(err, &stepErr)).To(BeTrue(), "a refusal is a *StepError, got %v", err)
	g.Expect(stepErr.Message).To(ContainSubstring("no such file"))

	var log eventLog
	res, err := r.Run(ctx, run("sh", "-c", "echo out; echo err >&2; exit 3"), log.add)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(And(HaveField("ExitCode", 3), HaveField("Stdout", "out\n"), HaveField("Stderr", "err\n"), HaveField("ErrorMessage", "")))
	events := log.all()
	g.Expect(events[0].Kind).To(Equal(sandbox.EventStarted))
	g.Expect(events[0].Lines).To(Equal([]string{"sh -c echo out; echo err >&2; exit 3"}))
	g.Expect(events[len(events)-1]).To(And(
		HaveField("Kind", sandbox.EventCompleted), HaveField("ExitCode", 3), HaveField("StepID", res.StepID)))
	g.Expect(log.lines(sandbox.EventStdout)).To(Equal([]string{"out"}))
	g.Expect(log.lines(sandbox.EventStderr)).To(Equal([]string{"err"}))
}

func TestConcurrentCallersOfOneSandboxEachGetTheirOwnResult(t *testing.T) {
	g := NewWithT(t)
	r, _ := startSandbox(t, sandbox.RemoteOptions{})
	const callers = 24
	var wg sync.WaitGroup
	results := make([]sandbox.StepResult, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			results[i], errs[i] = r.Run(context.Background(), run("echo", strconv.Itoa(i)), nil)
		})
	}
	wg.Wait()
	for i := range callers {
		g.Expect(errs[i]).NotTo(HaveOccurred())
		g.Expect(results[i].Stdout).To(Equal(strconv.Itoa(i)+"\n"), "caller %d got another step's result", i)
	}
}

func TestTwoSandboxesOnOneRedisWorkConcurrently(t *testing.T) {
	g := NewWithT(t)
	r1, a1 := startSandbox(t, sandbox.RemoteOptions{})
	r2, a2 := startSandbox(t, sandbox.RemoteOptions{})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, r := range []*sandbox.Remote{r1, r2} {
		wg.Go(func() {
			for j := range 20 {
				name, want := fmt.Sprintf("f%d.txt", j), fmt.Sprintf("sandbox %d file %d", i, j)
				if err := sandbox.WriteFile(ctx, r, name, want); err != nil {
					errs[i] = err
					return
				}
				res, err := r.Run(ctx, run("cat", name), nil)
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
	r, a := startSandbox(t, sandbox.RemoteOptions{})
	var log eventLog
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(context.Background(), sandbox.Step{Kind: sandbox.KindRun, Command: "sleep", Args: []string{"300"}, TimeoutSeconds: 3600}, log.add)
		done <- err
	}()
	g.Eventually(log.all).ShouldNot(BeEmpty(), "the step started")
	g.Expect(syscall.Kill(-a.Cmd.Process.Pid, syscall.SIGKILL)).To(Succeed())
	// The step's deadline is an hour away: only the heartbeat can end it.
	var err error
	g.Eventually(done, 30*time.Second).Should(Receive(&err))
	g.Expect(err).To(MatchError(sandbox.ErrAgentGone))
}

func TestResultOfStepFinishedWhileRedisIsDownArrivesAfterItsRestart(t *testing.T) {
	g := NewWithT(t)
	r, a := startSandbox(t, sandbox.RemoteOptions{})
	gate := filepath.Join(a.WorkDir, "gate")
	g.Expect(syscall.Mkfifo(gate, 0o600)).To(Succeed())
	var log eventLog
	type outcome struct {
		res sandbox.StepResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := r.Run(context.Background(), run("sh", "-c", "echo $$; read line < gate; echo \"$line\""), log.add)
		done <- outcome{res, err}
	}()
	g.Eventually(func() []string { return log.lines(sandbox.EventStdout) }).Should(HaveLen(1), "the step started")
	pid, err := strconv.Atoi(log.lines(sandbox.EventStdout)[0])
	g.Expect(err).NotTo(HaveOccurred())

	testenv.SharedRedis(t).Kill() // no persistence: every key is lost
	g.Expect(os.WriteFile(gate, []byte("finished while redis was down\n"), 0o600)).To(Succeed())
	g.Eventually(func() bool { return proctest.Gone(pid) }).Should(BeTrue(), "the step finished")
	g.Consistently(done, 2*time.Second).ShouldNot(Receive(), "no result while redis is down, and no false 'agent gone'")
	g.Expect(testenv.SharedRedis(t).Start()).To(Succeed())

	var got outcome
	g.Eventually(done, 30*time.Second).Should(Receive(&got))
	g.Expect(got.err).NotTo(HaveOccurred())
	g.Expect(got.res.Stdout).To(HaveSuffix("\nfinished while redis was down\n"))
	// And the agent keeps serving.
	res, err := r.Run(context.Background(), run("echo", "still here"), nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stdout).To(Equal("still here\n"))
}

func TestCancelledCallerStopsItsCommandInTheAgent(t *testing.T) {
	g := NewWithT(t)
	r, _ := startSandbox(t, sandbox.RemoteOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	var log eventLog
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx, run("sh", "-c", "echo $$; exec sleep 300"), log.add)
		done <- err
	}()
	g.Eventually(func() []string { return log.lines(sandbox.EventStdout) }).Should(HaveLen(1))
	pid, err := strconv.Atoi(log.lines(sandbox.EventStdout)[0])
	g.Expect(err).NotTo(HaveOccurred())
	cancel()
	g.Eventually(done).Should(Receive(MatchError(context.Canceled)))
	g.Eventually(func() bool { return proctest.Gone(pid) }, 10*time.Second).Should(BeTrue(), "the command was killed")
	res, err := r.Run(context.Background(), run("echo", "free again"), nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stdout).To(Equal("free again\n"))
}

func TestQueuedStepPastItsDeadlineFailsWithErrNoResult(t *testing.T) {
	g := NewWithT(t)
	r, _ := startSandbox(t, sandbox.RemoteOptions{Grace: time.Second})
	busy, stop := context.WithCancel(context.Background())
	defer stop()
	var log eventLog
	go func() { _, _ = r.Run(busy, run("sleep", "300"), log.add) }()
	g.Eventually(log.all).ShouldNot(BeEmpty(), "the agent is busy")

	_, err := r.Run(context.Background(), sandbox.Step{Kind: sandbox.KindRun, Command: "true", TimeoutSeconds: 1}, nil)
	g.Expect(err).To(MatchError(sandbox.ErrNoResult))
}

func TestOutputOf100MBIsCappedAndTheAgentStaysHealthy(t *testing.T) {
	g := NewWithT(t)
	r, _ := startSandbox(t, sandbox.RemoteOptions{})
	var log eventLog
	res, err := r.Run(context.Background(), run("sh", "-c", "yes 0123456789012345678901234567890123456789 | head -c 100000000"), log.add)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.ExitCode).To(Equal(0))
	g.Expect(res.StdoutBytes).To(BeEquivalentTo(100_000_000))
	g.Expect(res.Truncated).To(BeTrue())
	g.Expect(res.OutputCapBytes).To(BeEquivalentTo(1 << 20))
	g.Expect(len(res.Stdout)).To(BeNumerically("<=", 1<<20+100))
	g.Expect(res.Stdout).To(ContainSubstring("bytes omitted"))
	g.Expect(res.Stdout).To(HavePrefix("0123456789012345678901234567890123456789\n"))

	events := log.all()
	completed := events[len(events)-1]
	g.Expect(completed.Kind).To(Equal(sandbox.EventCompleted))
	streamed := int64(len(log.lines(sandbox.EventStdout)))
	g.Expect(completed.DroppedLines).To(BeNumerically(">", 0), "streaming stopped at its budget")
	g.Expect(streamed+completed.DroppedLines).To(BeNumerically(">=", 100_000_000/41), "every line was streamed or counted as dropped")

	g.Expect(r.Alive(context.Background())).To(BeTrue())
	res, err = r.Run(context.Background(), run("echo", "ok"), nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stdout).To(Equal("ok\n"))
}

func TestReleaseShutsTheAgentDownAndLeavesNoKey(t *testing.T) {
	g := NewWithT(t)
	r, a := startSandbox(t, sandbox.RemoteOptions{})
	ctx := context.Background()
	_, err := r.Run(ctx, run("echo", "leave an event behind"), nil)
	g.Expect(err).NotTo(HaveOccurred())
	c := testenv.SharedRedis(t).Client(t)
	g.Expect(c.Keys(ctx, "agentsmith:sandbox:"+r.JobID()+":*").Val()).NotTo(BeEmpty())

	g.Expect(r.Release(ctx)).To(Succeed())
	g.Eventually(a.Exited(), 10*time.Second).Should(BeClosed())
	g.Expect(a.ExitCode()).To(Equal(0), "a shutdown step ends the agent with status 0")
	g.Expect(c.Keys(ctx, "agentsmith:sandbox:"+r.JobID()+":*").Val()).To(BeEmpty())

	_, err = r.Run(ctx, run("true"), nil)
	g.Expect(err).To(MatchError(sandbox.ErrReleased))
}

func TestReleaseOfABusySandboxCancelsItsStep(t *testing.T) {
	g := NewWithT(t)
	r, a := startSandbox(t, sandbox.RemoteOptions{})
	var log eventLog
	type outcome struct {
		res sandbox.StepResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := r.Run(context.Background(), run("sleep", "300"), log.add)
		done <- outcome{res, err}
	}()
	g.Eventually(log.all).ShouldNot(BeEmpty())
	g.Expect(r.Release(context.Background())).To(Succeed())
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

func TestIdleAgentExitsWithStatus2AndDropsItsHeartbeat(t *testing.T) {
	g := NewWithT(t)
	r, a := startSandbox(t, sandbox.RemoteOptions{}, "--idle-timeout", "1s")
	g.Eventually(a.Exited(), 10*time.Second).Should(BeClosed())
	g.Expect(a.ExitCode()).To(Equal(2))
	g.Expect(r.Alive(context.Background())).To(BeFalse())
}

func TestAgentAsPID1ReapsWhatStepsLeaveBehind(t *testing.T) {
	newPIDNamespace := []string{"unshare", "--pid", "--fork", "--mount-proc"}
	if out, err := exec.Command(newPIDNamespace[0], append(newPIDNamespace[1:], "true")...).CombinedOutput(); err != nil {
		t.Skipf("cannot make a PID namespace here (needs root and unshare): %v %s", err, out)
	}
	g := NewWithT(t)
	r, a := startWrappedSandbox(t, newPIDNamespace, sandbox.RemoteOptions{})
	ctx := context.Background()
	res, err := r.Run(ctx, run("sh", "-c", "echo $PPID; sleep 0.2 >/dev/null 2>&1 & echo $!"), nil)
	g.Expect(err).NotTo(HaveOccurred())
	out := strings.Fields(res.Stdout)
	g.Expect(out).To(HaveLen(2))
	g.Expect(out[0]).NotTo(Equal("1"), "PID 1 runs the agent as its child")
	// The sleep outlives its shell, is re-parented to PID 1 and must not
	// stay a zombie there.
	g.Eventually(func() (int, error) {
		res, err := r.Run(ctx, run("cat", "/proc/"+out[1]+"/stat"), nil)
		return res.ExitCode, err
	}, 10*time.Second, 100*time.Millisecond).Should(Equal(1), "process %s was reaped", out[1])

	g.Expect(r.Release(ctx)).To(Succeed())
	g.Eventually(a.Exited(), 10*time.Second).Should(BeClosed())
	g.Expect(a.ExitCode()).To(Equal(0), "the agent's exit status passes through PID 1")
}

func TestAgentExitsWithStatus3OnAnErrorWaitingCannotFix(t *testing.T) {
	g := NewWithT(t)
	job := fmt.Sprintf("test-%d", time.Now().UnixNano())
	// Its step list is a string: every BRPOP answers WRONGTYPE.
	g.Expect(testenv.SharedRedis(t).Client(t).Set(context.Background(), sandbox.KeysFor(sandbox.DefaultPrefix, job).In, "not a list", time.Minute).Err()).To(Succeed())
	a := agenttest.Start(t, testenv.AgentBinary(t), testenv.SharedRedis(t).URL(), job)
	g.Eventually(a.Exited(), 10*time.Second).Should(BeClosed())
	g.Expect(a.ExitCode()).To(Equal(3))
	g.Expect(a.Output()).To(ContainSubstring("WRONGTYPE"))
}

func TestAWatchedStepLeavesOnlyItsLastEventInTheStream(t *testing.T) {
	g := NewWithT(t)
	r, _ := startSandbox(t, sandbox.RemoteOptions{})
	ctx := context.Background()
	var first, second eventLog
	_, err := r.Run(ctx, run("seq", "1", "3000"), first.add)
	g.Expect(err).NotTo(HaveOccurred())
	res, err := r.Run(ctx, run("seq", "1", "3000"), second.add)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(second.lines(sandbox.EventStdout)).To(HaveLen(3000))

	left, err := testenv.SharedRedis(t).Client(t).XRange(ctx, sandbox.KeysFor(sandbox.DefaultPrefix, r.JobID()).Events, "-", "+").Result()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(left).To(HaveLen(1))
	g.Expect(left[0].Values["data"]).To(And(ContainSubstring(res.StepID), ContainSubstring(`"kind":"completed"`)))
}
