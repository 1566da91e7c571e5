package runs

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestTypedEntriesReadBackAsAppended(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	id := submit(t, s, 1)
	appended := []Entry{
		{Phase: &Phase{Name: "plan", Status: PhaseStarted}},
		{Step: "plan", Model: &ModelCall{Model: "claude-sonnet-4", InputTokens: 1200, OutputTokens: 340, CostUSD: 0.0087, Latency: Duration(2300 * time.Millisecond)}},
		{Step: "execute", Tool: &ToolCall{Name: "edit_file", Arguments: `{"path":"api/cart.go"}`, Outcome: "ok", Duration: Duration(12 * time.Millisecond)}},
		{Step: "execute", Command: &Command{Repo: "shop-api", Command: "go test ./...", ExitCode: 1, Duration: Duration(4 * time.Second), Output: "ok  shop/api\nFAIL shop/cart\n"}},
		{Phase: &Phase{Name: "plan", Status: PhaseEnded, Duration: Duration(3 * time.Second)}},
		{Step: "execute", Message: "two files changed"},
	}
	for _, e := range appended {
		_, err := s.Append(ctx, id, e)
		g.Expect(err).NotTo(HaveOccurred())
	}
	got, err := s.Events(ctx, id, "", 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(HaveLen(1 + len(appended)))
	g.Expect(got[0].State).To(Equal(&StateChange{To: StateQueued, Event: EventSubmit, Attempt: 1}), "the log starts with the submission")
	kinds := []EntryKind{}
	for i, e := range got[1:] {
		kinds = append(kinds, e.Kind)
		want := appended[i]
		g.Expect(e.Phase).To(Equal(want.Phase))
		g.Expect(e.Model).To(Equal(want.Model))
		g.Expect(e.Tool).To(Equal(want.Tool))
		g.Expect(e.Command).To(Equal(want.Command))
		g.Expect(e.Step).To(Equal(want.Step))
		g.Expect(e.Time).To(BeTemporally("~", time.Now(), time.Minute))
	}
	g.Expect(kinds).To(Equal([]EntryKind{KindPhase, KindModel, KindTool, KindCommand, KindPhase, KindNote}))
	g.Expect(got[4].String()).To(Equal("[execute] shop-api: $ go test ./... → exit 1 in 4s | FAIL shop/cart"))
}

func TestEntriesAreBoundedAndScrubbedBeforeTheyAreStored(t *testing.T) {
	g := NewWithT(t)
	s, rdb := newStore(t, Options{})
	ctx := ctxT(t)
	id := submit(t, s, 1)
	const token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	output := strings.Repeat("compiling…\n", 2000) + "push https://x-access-token:" + token + "@github.com/acme/shop.git failed\n"
	_, err := s.Append(ctx, id, Entry{Command: &Command{
		Repo: "shop-api", Command: "git push " + token, ExitCode: 128, Output: output,
	}})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = s.Append(ctx, id, Entry{Tool: &ToolCall{Name: "write_file", Arguments: strings.Repeat("x", 10_000), Outcome: "ok"}})
	g.Expect(err).NotTo(HaveOccurred())

	got, err := s.Events(ctx, id, "", 0)
	g.Expect(err).NotTo(HaveOccurred())
	cmd := got[1].Command
	g.Expect(len(cmd.Output)).To(BeNumerically("<=", maxOutput+len("…")))
	g.Expect(cmd.Output).To(HaveSuffix("@github.com/acme/shop.git failed\n"), "a command keeps the tail of its output")
	g.Expect(cmd.Command).To(Equal("git push [REDACTED]"))
	g.Expect(len(got[2].Tool.Arguments)).To(BeNumerically("<=", maxArguments+len("…")))
	g.Expect(dumpKeys(t, rdb, s.opts.Prefix)).NotTo(ContainSubstring(token))
}

func TestTheLogKeepsItsNewestEntriesWithinItsByteBound(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{EventLimit: 1000, EventBytes: 8192})
	ctx := ctxT(t)
	id := submit(t, s, 1)
	line := strings.Repeat("x", 1000)
	for i := range 20 {
		g.Expect(s.AppendProgress(ctx, id, "test", line+string(rune('a'+i)))).To(Succeed())
	}
	got, err := s.Events(ctx, id, "", 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(len(got)).To(And(BeNumerically(">=", 6), BeNumerically("<=", 8)), "about 8 KiB of 1 KiB lines")
	g.Expect(got[len(got)-1].Message).To(HaveSuffix("t"), "the newest entry is kept")
	run, err := s.Get(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(run.Log.Bytes).To(BeNumerically("<=", 8192))
	g.Expect(run.Log.Dropped).To(BeEquivalentTo(21 - len(got)))
}

func TestTransitionsAreRecordedInTheLog(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{})
	ctx := ctxT(t)
	run := startRun(t, s, 1, "replica-a")
	_, err := s.Apply(ctx, run.ID, EventReady, Update{Fence: run.Fence, Step: "plan"})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = s.Apply(ctx, run.ID, EventFail, Update{Fence: run.Fence, Error: "tests failed"})
	g.Expect(err).NotTo(HaveOccurred())
	got, err := s.Events(ctx, run.ID, "", 0)
	g.Expect(err).NotTo(HaveOccurred())
	var lines []string
	for _, e := range got {
		lines = append(lines, e.String())
	}
	g.Expect(lines).To(Equal([]string{
		"run queued (submit, attempt 1)",
		"run starting (start, attempt 1)",
		"[plan] run running (ready, attempt 1)",
		"[plan] run failed (fail, attempt 1): tests failed",
	}))
}

func TestFollowDeliversEntriesAsTheyComeAndEndsWithTheRun(t *testing.T) {
	g := NewWithT(t)
	s, _ := newStore(t, Options{BlockTimeout: 200 * time.Millisecond})
	ctx := ctxT(t)
	run := startRun(t, s, 1, "replica-a")
	g.Expect(s.AppendProgress(ctx, run.ID, "plan", "before")).To(Succeed())
	first, err := s.Events(ctx, run.ID, "", 1)
	g.Expect(err).NotTo(HaveOccurred())

	seen := make(chan Entry, 100)
	done := make(chan error, 1)
	var ended Run
	go func() {
		var err error
		ended, err = s.Follow(ctx, run.ID, first[0].ID, func(e Entry) error { seen <- e; return nil })
		done <- err
	}()
	g.Eventually(seen).Should(Receive(HaveField("State.To", StateStarting)), "from after the cursor")
	g.Eventually(seen).Should(Receive(HaveField("Message", "before")))
	g.Expect(s.AppendProgress(ctx, run.ID, "plan", "live")).To(Succeed())
	g.Eventually(seen).Should(Receive(HaveField("Message", "live")))
	g.Consistently(done, 300*time.Millisecond).ShouldNot(Receive(), "a running run is followed on")

	_, err = s.Cancel(ctx, run.ID, "alice", "wrong ticket")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(seen).Should(Receive(HaveField("State", And(HaveField("To", StateCancelled), HaveField("By", "alice")))))
	g.Eventually(done).Should(Receive(BeNil()))
	g.Expect(ended.State).To(Equal(StateCancelled))

	_, err = s.Follow(ctx, "20260101-000000-none", "", func(Entry) error { return nil })
	g.Expect(err).To(MatchError(ErrNotFound))
	stop, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Follow(stop, run.ID, "", func(Entry) error { return nil })
	g.Expect(err).To(MatchError(context.Canceled))
}

func TestEntryLinesReadWell(t *testing.T) {
	for _, tc := range []struct {
		e    Entry
		want string
	}{
		{Entry{Step: "plan", Message: "planning\nthe change"}, "[plan] planning the change"},
		{Entry{Phase: &Phase{Name: "execute", Status: PhaseEnded, Duration: Duration(83*time.Second + 400*time.Millisecond)}}, "phase execute ended in 1m23s"},
		{Entry{Model: &ModelCall{Model: "gpt-5", InputTokens: 10, OutputTokens: 2, CostUSD: 0.01, Latency: Duration(1234 * time.Millisecond)}}, "model gpt-5: 10 in / 2 out tokens, $0.0100, 1.2s"},
		{Entry{Tool: &ToolCall{Name: "grep", Arguments: `"TODO"`, Outcome: "3 matches", Duration: Duration(4 * time.Millisecond)}}, `tool grep("TODO") → 3 matches in 4ms`},
		{Entry{State: &StateChange{To: StateCancelled, Event: EventCancel, Attempt: 2, By: "alice"}}, "run cancelled (cancel, attempt 2) by alice"},
		{Entry{Step: "test", Message: "tests still fail", Phase: &Phase{Name: "test", Status: PhaseFailed, Duration: Duration(2 * time.Second)}}, "phase test failed in 2s: tests still fail"},
		{Entry{Step: "execute", Model: &ModelCall{Phase: "execute/compaction", Model: "m", Latency: Duration(time.Second)}}, "[execute] model m for execute/compaction: 0 in / 0 out tokens, $0.0000, 1s"},
		{Entry{Step: "execute", Model: &ModelCall{Phase: "execute", Model: "m", Error: "429 rate limited"}}, "[execute] model m: 0 in / 0 out tokens, $0.0000, 0s, error: 429 rate limited"},
		{Entry{Message: "timed out", Command: &Command{Repo: "api", Command: "sleep 9", ExitCode: -1, Duration: Duration(time.Second)}}, "api: $ sleep 9 → exit -1 in 1s (timed out)"},
	} {
		NewWithT(t).Expect(tc.e.String()).To(Equal(tc.want))
	}
}
