package scripted_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/scripted"
)

const demo = `
# Fix the sign in Add, run the tests, finish.
- slot: planning
  text: '{"steps": ["fix Add"]}'
- text: Let me look at the code.
  tool_calls:
    - name: read_file
      arguments: {path: calc/add.go}
- tool_calls:
    - name: edit_file
      arguments: '{"path": "calc/add.go", "old_string": "a - b", "new_string": "a + b"}'
  usage: {input_tokens: 5200, output_tokens: 40, cached_input_tokens: 4000}
- tool_calls:
    - name: finish
      arguments: {summary: Add subtracted; it adds now.}
`

func TestScriptReplaysTurnsInOrderPerSlot(t *testing.T) {
	g := NewWithT(t)
	turns, err := scripted.Parse([]byte(demo))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(turns).To(HaveLen(4))

	planning := scripted.New("demo", turns, llm.SlotPlanning)
	resp, err := planning.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("plan")}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Text).To(Equal(`{"steps": ["fix Add"]}`))
	g.Expect(resp.StopReason).To(Equal(llm.StopEndTurn))

	exec := scripted.New("demo", turns, llm.SlotExecution)
	g.Expect(exec.Remaining()).To(Equal(3), "the planning turn is not the execution model's")
	req := &llm.Request{Messages: []llm.Message{llm.UserMessage(strings.Repeat("fix it ", 100))}}
	first, err := exec.Chat(context.Background(), req)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.ToolCalls[0]).To(Equal(llm.ToolCall{ID: "call_1", Name: "read_file", Arguments: json.RawMessage(`{"path":"calc/add.go"}`)}))
	g.Expect(first.StopReason).To(Equal(llm.StopToolUse))
	g.Expect(first.Usage.InputTokens).To(Equal(llm.NewEstimator().Request(req)), "usage is estimated when the script gives none")

	second, err := exec.Chat(context.Background(), req)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(second.ToolCalls[0].ID).To(Equal("call_2"))
	g.Expect(second.ToolCalls[0].Arguments).To(MatchJSON(`{"path": "calc/add.go", "old_string": "a - b", "new_string": "a + b"}`), "arguments may be a JSON string")
	g.Expect(second.Usage).To(Equal(llm.Usage{InputTokens: 5200, OutputTokens: 40, CachedInputTokens: 4000}))

	_, err = exec.Chat(context.Background(), req)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = exec.Chat(context.Background(), req)
	g.Expect(errors.Is(err, scripted.ErrExhausted)).To(BeTrue())
	g.Expect(llm.IsRetryable(err)).To(BeFalse())
}

func TestScriptProblemsAreReportedTogether(t *testing.T) {
	g := NewWithT(t)
	_, err := scripted.Parse([]byte(`
- slot: coding
  text: hi
- tool_calls: [{arguments: {a: 1}}]
- {}
- text: x
  stop_reason: done
`))
	g.Expect(err).To(MatchError(And(
		ContainSubstring(`turn 1: unknown model slot "coding"`),
		ContainSubstring("turn 2: tool call 1 has no name"),
		ContainSubstring("turn 3: a turn needs text, tool_calls or a stop_reason"),
		ContainSubstring(`turn 4: unknown stop_reason "done"`),
	)))

	_, err = scripted.Parse([]byte("- text: hi\n  tool_call: []\n"))
	g.Expect(err).To(MatchError(ContainSubstring(`unknown field "tool_call"`)), "misspelt keys are errors")
}

func TestRecordingReplaysTheSameAnswers(t *testing.T) {
	g := NewWithT(t)
	answers := []*llm.Response{
		{Text: "Looking.\nTwo lines.", ToolCalls: []llm.ToolCall{{ID: "a", Name: "read_file", Arguments: json.RawMessage(`{"path":"x: y.go"}`)}},
			StopReason: llm.StopToolUse, Usage: llm.Usage{InputTokens: 100, OutputTokens: 10, CachedInputTokens: 50}},
		{Text: `{"verdict": "ok", "quote": "it's \"fine\""}`, StopReason: llm.StopEndTurn,
			Usage: llm.Usage{InputTokens: 200, OutputTokens: 20, CacheWriteInputTokens: 150}},
		// An unusable tool call: no text, no calls, only the reason.
		{StopReason: llm.StopBadToolCall, StopDetail: "MALFORMED_FUNCTION_CALL", Usage: llm.Usage{InputTokens: 300}},
	}
	i := 0
	model := llm.ProviderFunc(func(context.Context, *llm.Request) (*llm.Response, error) {
		i++
		return answers[i-1], nil
	})
	path := filepath.Join(t.TempDir(), "run.yaml")
	rec := scripted.Record(model, path, llm.SlotExecution, "agent test, model gpt-4.1, run r1")
	for range answers {
		_, err := rec.Chat(context.Background(), &llm.Request{})
		g.Expect(err).NotTo(HaveOccurred())
	}
	data, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(data)).To(HavePrefix("# recorded "))
	g.Expect(string(data)).To(ContainSubstring("slot execution: agent test, model gpt-4.1, run r1"))

	turns, err := scripted.Load(path)
	g.Expect(err).NotTo(HaveOccurred())
	replay := scripted.New(path, turns, llm.SlotExecution)
	for j, want := range answers {
		got, err := replay.Chat(context.Background(), &llm.Request{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got.Text).To(Equal(want.Text), "turn %d", j)
		g.Expect(got.StopReason).To(Equal(want.StopReason))
		g.Expect(got.StopDetail).To(Equal(want.StopDetail))
		g.Expect(got.Usage).To(Equal(want.Usage))
		g.Expect(got.ToolCalls).To(HaveLen(len(want.ToolCalls)))
		for k := range want.ToolCalls {
			g.Expect(got.ToolCalls[k].Name).To(Equal(want.ToolCalls[k].Name))
			g.Expect(got.ToolCalls[k].Arguments).To(MatchJSON(want.ToolCalls[k].Arguments))
		}
	}
}

func TestRecordersOfSeveralSlotsShareAFile(t *testing.T) {
	g := NewWithT(t)
	path := filepath.Join(t.TempDir(), "run.yaml")
	answer := func(text string) llm.Provider {
		return llm.ProviderFunc(func(context.Context, *llm.Request) (*llm.Response, error) {
			return &llm.Response{Text: text, StopReason: llm.StopEndTurn}, nil
		})
	}
	planning := scripted.Record(answer("plan"), path, llm.SlotPlanning, "p")
	review := scripted.Record(answer("review"), path, llm.SlotReview, "r")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { _, _ = planning.Chat(context.Background(), &llm.Request{}) })
		wg.Go(func() { _, _ = review.Chat(context.Background(), &llm.Request{}) })
	}
	wg.Wait()
	turns, err := scripted.Load(path)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(turns).To(HaveLen(40))
	g.Expect(scripted.New(path, turns, llm.SlotReview).Remaining()).To(Equal(20))
	for _, turn := range turns {
		g.Expect(turn.Text).To(Equal(map[string]string{"planning": "plan", "review": "review"}[turn.Slot]))
	}
}

func TestFailedCallsAreNotRecorded(t *testing.T) {
	g := NewWithT(t)
	path := filepath.Join(t.TempDir(), "run.yaml")
	boom := errors.New("boom")
	rec := scripted.Record(llm.ProviderFunc(func(context.Context, *llm.Request) (*llm.Response, error) { return nil, boom }), path, llm.SlotExecution, "x")
	_, err := rec.Chat(context.Background(), &llm.Request{})
	g.Expect(err).To(Equal(boom))
	g.Expect(path).NotTo(BeAnExistingFile())
}
