package agent

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/proctest"
	"github.com/agent-smith/agent-smith/sandbox/internal/scrub"
)

func TestRunStep(t *testing.T) {
	x, _, dir := newTestExecutor(t, map[string]string{"sub/.keep": "", "tools/mytool": "#!/bin/sh\necho tool ran\n"})
	if err := os.Chmod(filepath.Join(dir, "tools/mytool"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AGENT_ENV_VAR", "from the agent")
	t.Setenv("SANDBOX_TOKEN", "the-agents-own-token")
	t.Setenv("SANDBOX_API_URL", "https://10.0.0.1:8443")
	tests := []struct {
		name           string
		step           sandbox.Step
		code           int
		stdout, stderr string
		err            string
	}{
		{name: "exit code and both streams", step: sandbox.Step{Command: "sh", Args: []string{"-c", "echo out; echo err >&2; exit 7"}}, code: 7, stdout: "out\n", stderr: "err\n"},
		{name: "no implicit shell", step: sandbox.Step{Command: "echo", Args: []string{"$HOME", "*", "a;b"}}, stdout: "$HOME * a;b\n"},
		{name: "env merged over the agent's", step: sandbox.Step{Command: "sh", Args: []string{"-c", "echo $STEP_VAR / $AGENT_ENV_VAR"}, Env: map[string]string{"STEP_VAR": "from the step"}},
			stdout: "from the step / from the agent\n"},
		{name: "the agent's own settings are not passed on", step: sandbox.Step{Command: "sh", Args: []string{"-c", `echo "[$SANDBOX_TOKEN$SANDBOX_API_URL]"`}}, stdout: "[]\n"},
		{name: "working directory under the root", step: sandbox.Step{Command: "pwd", WorkingDirectory: "sub"}, stdout: filepath.Join(dir, "sub") + "\n"},
		{name: "default working directory is the root", step: sandbox.Step{Command: "pwd"}, stdout: dir + "\n"},
		{name: "PATH of the step", step: sandbox.Step{Command: "mytool", Env: map[string]string{"PATH": filepath.Join(dir, "tools") + ":" + os.Getenv("PATH")}}, stdout: "tool ran\n"},
		{name: "relative command", step: sandbox.Step{Command: "./tools/mytool"}, stdout: "tool ran\n"},
		{name: "signal death", step: sandbox.Step{Command: "sh", Args: []string{"-c", "kill -9 $$"}}, code: 137},
		{name: "missing working directory", step: sandbox.Step{Command: "pwd", WorkingDirectory: "nope"}, code: -1, err: `directory "nope" does not exist`},
		{name: "unknown command", step: sandbox.Step{Command: "no-such-command-here"}, code: -1, err: "command no-such-command-here not found in PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tt.step.Kind = sandbox.KindRun
			res := x.do(tt.step)
			g.Expect(res.ErrorMessage).To(ContainSubstring(tt.err))
			if tt.err == "" {
				g.Expect(res.ErrorMessage).To(BeEmpty())
			}
			g.Expect(res.ExitCode).To(Equal(tt.code))
			g.Expect(res.Stdout).To(Equal(tt.stdout))
			g.Expect(res.Stderr).To(Equal(tt.stderr))
		})
	}
}

func TestTimeoutKillsTheWholeProcessGroup(t *testing.T) {
	g := NewWithT(t)
	x, _, _ := newTestExecutor(t, nil)
	x.killGrace = 200 * time.Millisecond
	// The shell and its children ignore SIGTERM: only SIGKILL of the group
	// ends them.
	res := x.do(sandbox.Step{Kind: sandbox.KindRun, TimeoutSeconds: 1, Command: "sh",
		Args: []string{"-c", `trap "" TERM; echo $$; sleep 300 & echo $!; sleep 300 & echo $!; wait`}})
	g.Expect(res.TimedOut).To(BeTrue())
	g.Expect(res.ExitCode).To(Equal(-1))
	g.Expect(res.ErrorMessage).To(ContainSubstring("timed out after 1s"))
	pids := strings.Fields(res.Stdout)
	g.Expect(pids).To(HaveLen(3))
	for _, p := range pids {
		pid, err := strconv.Atoi(p)
		g.Expect(err).NotTo(HaveOccurred())
		g.Eventually(func() bool { return proctest.Gone(pid) }).Should(BeTrue(), "process %d survived the timeout", pid)
	}
}

func TestOutputIsStreamedInOrderedBatches(t *testing.T) {
	g := NewWithT(t)
	x, rec, _ := newTestExecutor(t, nil)
	res := x.do(sandbox.Step{Kind: sandbox.KindRun, Command: "seq", Args: []string{"1", "2000"}, Stream: true})
	g.Expect(res.ExitCode).To(Equal(0))
	events := rec.all()
	g.Expect(events[0].Kind).To(Equal(sandbox.EventStarted))
	g.Expect(events[len(events)-1]).To(And(HaveField("Kind", sandbox.EventCompleted), HaveField("DroppedLines", int64(0))))
	var lines []string
	for _, e := range events[1 : len(events)-1] {
		g.Expect(e.Kind).To(Equal(sandbox.EventStdout))
		g.Expect(len(e.Lines)).To(BeNumerically("<=", batchLines))
		lines = append(lines, e.Lines...)
	}
	g.Expect(len(events)).To(BeNumerically(">=", 2+2000/batchLines), "lines come in batches")
	g.Expect(strings.Join(lines, "\n") + "\n").To(Equal(res.Stdout))
}

func TestLongLinesAreCutInEventsButKeptInTheResult(t *testing.T) {
	g := NewWithT(t)
	x, rec, _ := newTestExecutor(t, nil)
	long := strings.Repeat("y", 3*lineMax)
	res := x.do(sandbox.Step{Kind: sandbox.KindRun, Command: "printf", Args: []string{"%s\nlast line without newline", long}, Stream: true})
	g.Expect(res.Stdout).To(Equal(long + "\nlast line without newline"))
	var lines []string
	for _, e := range rec.all() {
		if e.Kind == sandbox.EventStdout {
			lines = append(lines, e.Lines...)
		}
	}
	g.Expect(lines).To(Equal([]string{long[:lineMax], "last line without newline"}))
}

func TestAStepNobodyWatchesStreamsNothing(t *testing.T) {
	g := NewWithT(t)
	x, rec, _ := newTestExecutor(t, nil)
	res := x.do(sandbox.Step{Kind: sandbox.KindRun, Command: "seq", Args: []string{"1", "2000"}})
	g.Expect(res.ExitCode).To(Equal(0))
	g.Expect(res.Stdout).To(HaveSuffix("\n2000\n"))
	g.Expect(rec.all()).To(BeEmpty())
}

func TestTheAgentsTokenIsMaskedInWhatCommandsPrint(t *testing.T) {
	g := NewWithT(t)
	x, rec, _ := newTestExecutor(t, nil)
	const token = "tok_0123456789abcdefghij"
	x.scrub = scrub.New(token)
	// Split across writes, and base64-encoded.
	res := x.do(sandbox.Step{Kind: sandbox.KindRun, Command: "sh", Stream: true, Args: []string{"-c",
		`printf 'tok_01234'; sleep 0.05; printf '56789abcdefghij\n'; printf %s "$1" | base64; echo "$1" >&2`, "sh", token}})
	g.Expect(res.ExitCode).To(Equal(0))
	g.Expect(res.Stdout).To(Equal(scrub.Mask + "\n" + scrub.Mask + "\n"))
	g.Expect(res.Stderr).To(Equal(scrub.Mask + "\n"))
	for _, ev := range rec.all() {
		g.Expect(strings.Join(ev.Lines, "\n")).NotTo(ContainSubstring("0123456789"))
	}
}

func TestCaptureKeepsHeadAndTail(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{name: "under the cap", writes: []string{"0123", "456"}, want: "0123456"},
		{name: "exactly the cap", writes: []string{"0123456789"}, want: "0123456789"},
		{name: "over the cap in small writes", writes: []string{"012", "345", "678", "9ab", "cde", "fgh", "ij"}, want: "01234\n[… 10 bytes omitted …]\nfghij"},
		{name: "over the cap in one write", writes: []string{"0123456789abcdefghij"}, want: "01234\n[… 10 bytes omitted …]\nfghij"},
		{name: "wrapping the ring", writes: []string{"01234", "567", "89a", "bcd"}, want: "01234\n[… 4 bytes omitted …]\n9abcd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture(10)
			for _, w := range tt.writes {
				c.write([]byte(w))
			}
			NewWithT(t).Expect(c.String()).To(Equal(tt.want))
		})
	}
}
