package llm_test

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"

	"github.com/agent-smith/agent-smith/llm"
)

func TestAnAnswerThatFillsTheContextWindowCompactsAndIsAskedAgain(t *testing.T) {
	g := NewWithT(t)
	inner := script(t, repeat(readTurn, 8)+finishTurn)
	cut := false
	p := &spy{next: llm.ProviderFunc(func(ctx context.Context, req *llm.Request) (*llm.Response, error) {
		// Anthropic's model_context_window_exceeded: HTTP 200, billed,
		// the answer cut by the window rather than the output cap.
		if llm.NewEstimator().Request(req) > 8000 && !cut {
			cut = true
			return &llm.Response{Text: "I will now re", StopReason: llm.StopContextWindow, Usage: llm.Usage{InputTokens: 9000, OutputTokens: 100}}, nil
		}
		return inner.Chat(ctx, req)
	})}
	res, err := (&llm.Loop{Model: compactingModel(p), Tools: []llm.Tool{echo("read", part)}}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cut).To(BeTrue())
	g.Expect(res.Stop).To(Equal(llm.StopFinished), "not an output-limit stop")
	g.Expect(res.Compactions).To(BeNumerically(">=", 1))
	g.Expect(res.Usage.InputTokens).To(BeNumerically(">=", 9000), "the cut call was billed and counts")
	for _, m := range res.Messages {
		g.Expect(m.Text).NotTo(Equal("I will now re"), "the cut answer is not kept")
	}
}

func TestAnAnswerThatFillsTheWindowWithoutCompactionEndsTheLoop(t *testing.T) {
	g := NewWithT(t)
	p := script(t, "- {text: cut, stop_reason: context_window}\n")
	res, err := (&llm.Loop{Model: model(p)}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopContextLength))
	g.Expect(res.ModelCalls).To(Equal(1))
}

func TestAnUnusableToolCallIsRetriedOnceWithACorrection(t *testing.T) {
	g := NewWithT(t)
	p := &spy{next: script(t, `
- {stop_reason: bad_tool_call, stop_detail: "MALFORMED_FUNCTION_CALL: Malformed function call: read(path=)"}
`+finishTurn)}
	res, err := (&llm.Loop{Model: model(p), Tools: []llm.Tool{echo("read", "x")}}).Run(context.Background(), llm.LoopRequest{Prompt: "fix it"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopFinished))
	g.Expect(res.ModelCalls).To(Equal(2))
	second := p.requests[1].Messages
	g.Expect(second).To(HaveLen(2), "the task and the correction; the empty answer is not kept")
	g.Expect(second[1]).To(MatchFields(IgnoreExtras, Fields{
		"Role": Equal(llm.RoleUser),
		"Text": And(ContainSubstring("could not be used (MALFORMED_FUNCTION_CALL: Malformed function call: read(path=))"), ContainSubstring("call finish")),
	}))
}

func TestASecondUnusableToolCallInARowFailsTheLoopWithTheReason(t *testing.T) {
	g := NewWithT(t)
	p := script(t, `
- {stop_reason: bad_tool_call, stop_detail: TOO_MANY_TOOL_CALLS}
- {stop_reason: bad_tool_call, stop_detail: UNEXPECTED_TOOL_CALL}
`+finishTurn)
	res, err := (&llm.Loop{Model: model(p)}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	var bad *llm.BadToolCallError
	g.Expect(errors.As(err, &bad)).To(BeTrue(), "%v", err)
	g.Expect(err).To(MatchError(ContainSubstring("UNEXPECTED_TOOL_CALL")))
	g.Expect(res.ModelCalls).To(Equal(2))
}

func TestUnusableToolCallsApartAreEachRetried(t *testing.T) {
	g := NewWithT(t)
	p := script(t, "- {stop_reason: bad_tool_call, stop_detail: one}\n"+readTurn+"- {stop_reason: bad_tool_call, stop_detail: two}\n"+finishTurn)
	res, err := (&llm.Loop{Model: model(p), Tools: []llm.Tool{echo("read", "x")}}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopFinished))
}

func TestAPausedTurnIsSentBackForTheModelToGoOn(t *testing.T) {
	g := NewWithT(t)
	p := &spy{next: script(t, "- {text: Still searching, stop_reason: paused}\n"+finishTurn)}
	res, err := (&llm.Loop{Model: model(p)}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopFinished))
	second := p.requests[1].Messages
	g.Expect(second).To(HaveLen(2))
	g.Expect(second[1]).To(MatchFields(IgnoreExtras, Fields{"Role": Equal(llm.RoleAssistant), "Text": Equal("Still searching")}))
}

func TestAQueryCutByTheContextWindowIsAContextLengthError(t *testing.T) {
	g := NewWithT(t)
	p := script(t, "- {text: '{\"plan\": [', stop_reason: context_window}\n")
	var out map[string]any
	_, err := llm.AskJSON(context.Background(), llm.Query{Model: model(p), Prompt: "plan"}, &out)
	var cl *llm.ContextLengthError
	g.Expect(errors.As(err, &cl)).To(BeTrue(), "%v", err)
}
