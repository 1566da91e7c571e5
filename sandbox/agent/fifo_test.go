package agent

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/sandbox"
)

// A named pipe in the work tree (mkfifo needs no privilege) would block
// an open for reading until a writer comes, which none does: every file
// step refuses it at once, with either grep engine.
func TestHostileFIFOIsRefusedByEveryFileStep(t *testing.T) {
	x, _, dir := newTestExecutor(t, map[string]string{"src/ok.txt": "needle\n"})
	for _, p := range []string{"pipe", "src/pipe"} {
		if err := syscall.Mkfifo(filepath.Join(dir, p), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		step sandbox.Step
		err  string
	}{
		{"read", sandbox.Step{Kind: sandbox.KindReadFile, Path: "pipe"}, "pipe is a named pipe, not a regular file"},
		{"read a window", sandbox.Step{Kind: sandbox.KindReadFile, Path: "pipe", StartLine: 1, LineCount: 2}, "not a regular file"},
		{"edit", sandbox.Step{Kind: sandbox.KindEditFile, Path: "pipe", OldString: "a", NewString: "b"}, "pipe is a named pipe, not a regular file"},
		{"overwrite", sandbox.Step{Kind: sandbox.KindWriteFile, Path: "pipe", Content: "x"}, "pipe is a named pipe, not a regular file"},
		{"grep the pipe", sandbox.Step{Kind: sandbox.KindGrep, Path: "pipe", Pattern: "x"}, "pipe is a named pipe, not a regular file"},
	}
	for _, engine := range []string{x.rg, ""} {
		x.rg = engine
		for _, tt := range steps {
			t.Run(x.grepEngine()+"/"+tt.name, func(t *testing.T) {
				g := NewWithT(t)
				tt.step.TimeoutSeconds = 5
				res := doWithin(t, x, tt.step, 3*time.Second)
				g.Expect(res.ErrorMessage).To(ContainSubstring(tt.err))
				g.Expect(res.TimedOut).To(BeFalse(), "refused, not waited out")
			})
		}
		t.Run(x.grepEngine()+"/grep a tree with pipes", func(t *testing.T) {
			g := NewWithT(t)
			res := doWithin(t, x, sandbox.Step{Kind: sandbox.KindGrep, Pattern: "needle", OutputMode: sandbox.GrepFiles, TimeoutSeconds: 5}, 3*time.Second)
			g.Expect(res.ErrorMessage).To(BeEmpty())
			g.Expect(res.OutputContent).To(ContainSubstring(`"files":["src/ok.txt"]`), "the pipes are skipped")
		})
	}
}

// A file step stuck in the kernel (the executor's file kinds replaced by
// one that ignores its context, as a read of a hung filesystem would) is
// answered at its timeout and at its caller's cancel, and later file
// steps are refused at once until it returns, rather than queued behind
// it.
func TestHostileBlockedFileStepHonoursTimeoutAndCancel(t *testing.T) {
	g := NewWithT(t)
	x, _, _ := newTestExecutor(t, map[string]string{"a.txt": "a\n"})
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	real := x.files
	x.files = func(ctx context.Context, s sandbox.Step) (sandbox.StepResult, error) {
		if s.Path == "hang" {
			entered <- struct{}{}
			<-release
		}
		return real(ctx, s)
	}

	res := doWithin(t, x, sandbox.Step{Kind: sandbox.KindReadFile, Path: "hang", TimeoutSeconds: 1}, 5*time.Second)
	g.Expect(res).To(And(HaveField("TimedOut", true), HaveField("ExitCode", -1), HaveField("ErrorMessage", "readFile timed out after 1s")))

	res = doWithin(t, x, sandbox.Step{Kind: sandbox.KindReadFile, Path: "a.txt"}, time.Second)
	g.Expect(res.ErrorMessage).To(Equal("a previous file step is still blocked; run a command to see why"))
	res = doWithin(t, x, sandbox.Step{Kind: sandbox.KindRun, Command: "true"}, 5*time.Second)
	g.Expect(res.ErrorMessage).To(BeEmpty(), "commands still run")

	<-entered
	close(release)
	g.Eventually(func() string {
		return doWithin(t, x, sandbox.Step{Kind: sandbox.KindReadFile, Path: "a.txt"}, time.Second).OutputContent
	}).Should(Equal("a\n"), "file steps work again once the stuck one returned")

	// Cancelled by its caller.
	release = make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }()
	res = x.execute(ctx, prepared(sandbox.Step{Kind: sandbox.KindReadFile, Path: "hang", TimeoutSeconds: 60}))
	g.Expect(res).To(And(HaveField("Cancelled", true), HaveField("ErrorMessage", "readFile was cancelled")))
}

// doWithin runs a step and fails the test if the agent does not answer
// within limit.
func doWithin(t *testing.T, x *executor, s sandbox.Step, limit time.Duration) sandbox.StepResult {
	t.Helper()
	done := make(chan sandbox.StepResult, 1)
	go func() { done <- x.execute(context.Background(), prepared(s)) }()
	select {
	case res := <-done:
		return res
	case <-time.After(limit):
		t.Fatalf("%s step of %s did not answer within %s", s.Kind, s.Path, limit)
		return sandbox.StepResult{}
	}
}
