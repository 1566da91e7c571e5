package llm_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"

	"github.com/agent-smith/agent-smith/llm"
)

// traced collects what a trace hears.
type traced struct {
	mu     sync.Mutex
	models []llm.ModelCallInfo
	tools  []llm.ToolCallRecord
}

func (tr *traced) trace() *llm.Trace {
	return &llm.Trace{
		ModelCall: func(_ context.Context, c llm.ModelCallInfo) {
			tr.mu.Lock()
			tr.models = append(tr.models, c)
			tr.mu.Unlock()
		},
		ToolCall: func(_ context.Context, r llm.ToolCallRecord) {
			tr.mu.Lock()
			tr.tools = append(tr.tools, r)
			tr.mu.Unlock()
		},
	}
}

func TestTraceHearsEveryModelAndToolCallOfTheContext(t *testing.T) {
	g := NewWithT(t)
	m := model(script(t, readTurn+finishTurn))
	m.Price = llm.PriceFor(pricedAt, "test-model")
	var tr traced
	ctx := llm.WithTrace(context.Background(), tr.trace())
	loop := llm.Loop{Model: m, Tools: []llm.Tool{echo("read", "file content")}}
	res, err := loop.Run(ctx, llm.LoopRequest{Phase: "execution", Prompt: "fix it"})
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(tr.models).To(HaveLen(res.ModelCalls))
	g.Expect(tr.models[0]).To(MatchFields(IgnoreExtras, Fields{"Phase": Equal("execution"), "Model": Equal("scripted"),
		"CostUSD": BeNumerically(">", 0), "Err": BeNil()}))
	g.Expect(tr.models[0].Usage.Add(tr.models[1].Usage)).To(Equal(res.Usage))
	g.Expect(tr.tools).To(Equal(res.ToolCalls), "finish and log_decision are the loop's own, not tool calls")
}

func TestTraceHearsAFailedModelCall(t *testing.T) {
	g := NewWithT(t)
	var tr traced
	ctx := llm.WithTrace(context.Background(), tr.trace())
	refused := errors.New("401 invalid api key")
	loop := llm.Loop{Model: model(failing{refused})}
	_, err := loop.Run(ctx, llm.LoopRequest{Phase: "plan", Prompt: "go"})
	g.Expect(err).To(MatchError(refused))
	g.Expect(tr.models).To(ConsistOf(MatchFields(IgnoreExtras, Fields{"Phase": Equal("plan"), "Model": Equal("test-model"),
		"Err": MatchError(refused), "CostUSD": BeZero()})))
}

// failing is a provider whose every call fails with err.
type failing struct{ err error }

func (f failing) Chat(context.Context, *llm.Request) (*llm.Response, error) { return nil, f.err }
