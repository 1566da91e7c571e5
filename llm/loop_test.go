package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"

	"github.com/agent-smith/agent-smith/llm"
)

const readTurn = `
- tool_calls:
    - name: read
      arguments: {path: a.txt}
`

const finishTurn = `
- tool_calls:
    - name: log_decision
      arguments: {decision: keep the API, reason: callers depend on it}
    - name: finish
      arguments: {summary: done}
`

func TestLoopRunsToolsUntilTheModelFinishes(t *testing.T) {
	g := NewWithT(t)
	p := &spy{next: script(t, readTurn+finishTurn)}
	loop := llm.Loop{Model: model(p), Tools: []llm.Tool{echo("read", "file content")}}
	res, err := loop.Run(context.Background(), llm.LoopRequest{Phase: "execution", System: "be brief", Prompt: "fix it"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopFinished))
	g.Expect(res.Summary).To(Equal("done"))
	g.Expect(res.Decisions).To(Equal([]llm.Decision{{Decision: "keep the API", Reason: "callers depend on it"}}))
	g.Expect(res.ModelCalls).To(Equal(2))
	g.Expect(res.ToolCalls).To(HaveLen(1))
	g.Expect(res.ToolCalls[0].Name).To(Equal("read"))

	second := p.requests[1]
	g.Expect(second.System).To(Equal("be brief"))
	g.Expect(second.Messages).To(HaveLen(3))
	g.Expect(second.Messages[2]).To(MatchFields(IgnoreExtras, Fields{"Role": Equal(llm.RoleTool), "Text": Equal("file content"), "ToolName": Equal("read")}))
	var names []string
	for _, d := range second.Tools {
		names = append(names, d.Name)
	}
	g.Expect(names).To(Equal([]string{"read", "log_decision", "finish"}))
}

func TestToolErrorsGoBackToTheModel(t *testing.T) {
	g := NewWithT(t)
	p := &spy{next: script(t, `
- tool_calls:
    - {name: broken}
    - {name: nosuchtool}
    - {name: finish, arguments: {}}
`+finishTurn)}
	broken := tool{name: "broken", fn: func(context.Context, json.RawMessage) (string, error) { return "", errors.New("no such file: a.txt") }}
	res, err := (&llm.Loop{Model: model(p), Tools: []llm.Tool{broken}}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopFinished))
	results := p.requests[1].Messages[2:]
	g.Expect(results).To(HaveLen(3))
	g.Expect(results[0]).To(MatchFields(IgnoreExtras, Fields{"Text": Equal("no such file: a.txt"), "IsError": BeTrue()}))
	g.Expect(results[1]).To(MatchFields(IgnoreExtras, Fields{"Text": ContainSubstring(`unknown tool "nosuchtool"`), "IsError": BeTrue()}))
	g.Expect(results[2]).To(MatchFields(IgnoreExtras, Fields{"Text": Equal("summary is required"), "IsError": BeTrue()}))
	g.Expect(res.ToolCalls[0].Error).To(Equal("no such file: a.txt"))
}

func TestHaltingToolEndsTheLoopWithItsError(t *testing.T) {
	g := NewWithT(t)
	gone := errors.New("sandbox agent is gone")
	halt := tool{name: "read", fn: func(context.Context, json.RawMessage) (string, error) { return "", llm.Halt(gone) }}
	res, err := (&llm.Loop{Model: model(script(t, readTurn+finishTurn)), Tools: []llm.Tool{halt}}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(errors.Is(err, gone)).To(BeTrue())
	g.Expect(res.ModelCalls).To(Equal(1))
}

// Every limit of the limits block ends the loop with its own reason
// before the model is done.
func TestEveryLimitBinds(t *testing.T) {
	huge := strings.Repeat("x", 400000)
	block := tool{name: "read", fn: func(ctx context.Context, _ json.RawMessage) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	}}
	for _, tc := range []struct {
		name      string
		script    string
		tools     []llm.Tool
		limits    llm.Limits
		stop      llm.LoopStop
		calls     int
		toolCalls int
	}{
		{
			name:   "tool calls per loop",
			script: repeat(readTurn, 10) + finishTurn, tools: []llm.Tool{echo("read", "ok")},
			limits: llm.Limits{MaxToolCalls: 3}, stop: llm.StopToolCallLimit, calls: 4, toolCalls: 3,
		},
		{
			name:   "model calls per loop",
			script: repeat(readTurn, 10) + finishTurn, tools: []llm.Tool{echo("read", "ok")},
			limits: llm.Limits{MaxModelCalls: 5}, stop: llm.StopModelCallLimit, calls: 5, toolCalls: 5,
		},
		{
			name: "input tokens per call, estimated before the call",
			// Each result is cut to a quarter of the window, so the fifth
			// call would be the one over the limit.
			script: repeat(readTurn, 6) + finishTurn, tools: []llm.Tool{echo("read", huge)},
			limits: llm.Limits{MaxInputTokensPerCall: 50000}, stop: llm.StopInputTokenLimit, calls: 4, toolCalls: 4,
		},
		{
			name: "input tokens per call, as the provider reported them",
			script: `
- tool_calls: [{name: read}]
  usage: {input_tokens: 60000, output_tokens: 10}
` + finishTurn,
			tools:  []llm.Tool{echo("read", "ok")},
			limits: llm.Limits{MaxInputTokensPerCall: 50000}, stop: llm.StopInputTokenLimit, calls: 1, toolCalls: 0,
		},
		{
			name: "output tokens per call",
			script: `
- text: "I will now write a very long expla"
  stop_reason: max_tokens
`,
			limits: llm.Limits{MaxOutputTokensPerCall: 10}, stop: llm.StopOutputTokenLimit, calls: 1,
		},
		{
			name:   "seconds per loop",
			script: repeat(readTurn, 3) + finishTurn, tools: []llm.Tool{block},
			limits: llm.Limits{MaxDuration: 50 * time.Millisecond}, stop: llm.StopTimeLimit, calls: 1, toolCalls: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := &spy{next: script(t, tc.script)}
			res, err := (&llm.Loop{Model: model(p), Tools: tc.tools, Limits: tc.limits}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.Stop).To(Equal(tc.stop), res.StopDetail)
			g.Expect(res.Stop.LimitHit()).To(BeTrue())
			g.Expect(res.StopDetail).NotTo(BeEmpty())
			g.Expect(p.calls()).To(Equal(tc.calls), "model calls made")
			g.Expect(res.ToolCalls).To(HaveLen(tc.toolCalls), "tool calls run")
		})
	}
}

func TestOutputCapIsTheSmallerOfSlotAndLimit(t *testing.T) {
	g := NewWithT(t)
	p := &spy{next: script(t, finishTurn)}
	m := model(p)
	m.MaxOutputTokens = 4000
	_, err := (&llm.Loop{Model: m, Limits: llm.Limits{MaxOutputTokensPerCall: 1500}}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.requests[0].MaxOutputTokens).To(Equal(1500))
}

func TestToolCallsPastTheLimitGetResultsSoTheConversationStaysWellFormed(t *testing.T) {
	g := NewWithT(t)
	p := script(t, `
- tool_calls:
    - {name: read}
    - {name: read}
    - {name: read}
`)
	res, err := (&llm.Loop{Model: model(p), Tools: []llm.Tool{echo("read", "ok")}, Limits: llm.Limits{MaxToolCalls: 1}}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopToolCallLimit))
	last := res.Messages[len(res.Messages)-3:]
	g.Expect(last[0].Text).To(Equal("ok"))
	g.Expect(last[1]).To(MatchFields(IgnoreExtras, Fields{"IsError": BeTrue(), "Text": ContainSubstring("tool call limit")}))
	g.Expect(last[2]).To(MatchFields(IgnoreExtras, Fields{"IsError": BeTrue(), "Text": ContainSubstring("already ended")}))
}

func TestAnAnswerWithoutToolsEndsTheLoop(t *testing.T) {
	g := NewWithT(t)
	res, err := (&llm.Loop{Model: model(script(t, "- text: The bug is in add.go.\n"))}).Run(context.Background(), llm.LoopRequest{Prompt: "where is the bug?"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopAnswered))
	g.Expect(res.Stop.LimitHit()).To(BeFalse())
	g.Expect(res.FinalText).To(Equal("The bug is in add.go."))
}

func TestLoopContinuesAnEarlierConversation(t *testing.T) {
	g := NewWithT(t)
	first, err := (&llm.Loop{Model: model(script(t, "- text: I looked.\n"))}).Run(context.Background(), llm.LoopRequest{Prompt: "look"})
	g.Expect(err).NotTo(HaveOccurred())
	p := &spy{next: script(t, finishTurn)}
	_, err = (&llm.Loop{Model: model(p)}).Run(context.Background(), llm.LoopRequest{History: first.Messages, Prompt: "now fix it"})
	g.Expect(err).NotTo(HaveOccurred())
	texts := []string{}
	for _, m := range p.requests[0].Messages {
		texts = append(texts, m.Text)
	}
	g.Expect(texts).To(Equal([]string{"look", "I looked.", "now fix it"}))
}

func TestProviderFailureIsTheLoopsError(t *testing.T) {
	g := NewWithT(t)
	refused := &llm.APIError{Provider: "x", StatusCode: 400, Message: "bad tool schema"}
	p := llm.ProviderFunc(func(context.Context, *llm.Request) (*llm.Response, error) { return nil, refused })
	_, err := (&llm.Loop{Model: model(p)}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(errors.Is(err, refused)).To(BeTrue())
}

func TestLoopRefusesDuplicateToolNames(t *testing.T) {
	g := NewWithT(t)
	_, err := (&llm.Loop{Model: model(script(t, finishTurn)), Tools: []llm.Tool{echo("finish", "")}}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(err).To(MatchError(ContainSubstring(`tool "finish" is defined twice`)))
}

func TestARetryThatWouldOutlastTheLoopEndsItOnTime(t *testing.T) {
	throttled := llm.ProviderFunc(func(context.Context, *llm.Request) (*llm.Response, error) {
		return nil, &llm.APIError{Provider: "x", StatusCode: 429, RetryAfter: time.Hour, Retryable: true}
	})
	p := llm.WithRetry(throttled, llm.RetryPolicy{MaxRetries: 3, InitialDelay: time.Millisecond, Multiplier: 2, MaxDelay: time.Second})
	loop := llm.Loop{Model: model(p), Limits: llm.Limits{MaxDuration: time.Minute}}

	g := NewWithT(t)
	res, err := loop.Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopTimeLimit))

	// When the caller's deadline is the nearer one, it is the caller's
	// problem, not a limit of the loop.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = loop.Run(ctx, llm.LoopRequest{Prompt: "go"})
	g.Expect(errors.Is(err, llm.ErrNoTimeLeft)).To(BeTrue())
}
