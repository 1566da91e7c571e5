package llm_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
)

// longConversation is a 200-turn script: every turn reads a file, then the
// model finishes.
func longConversation() string {
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "- text: Reading part %d.\n  tool_calls: [{name: read, arguments: {path: part%d.txt}}]\n", i, i)
	}
	b.WriteString(finishTurn)
	return b.String()
}

func compactingModel(p llm.Provider) *llm.Model {
	return &llm.Model{Provider: p, Name: "test-model", ContextWindow: 32000, MaxOutputTokens: 1000,
		Compaction: config.Compaction{Enabled: true, TriggerRatio: 0.7, KeepRecentTurns: 6}}
}

// Each read returns about 1.7k tokens, so the 200 turns hold about 350k
// tokens against a 32k window.
var part = strings.Repeat("func f() { return 42 } // some code\n", 170)

func TestCompactionKeepsA200TurnConversationUnderTheWindow(t *testing.T) {
	g := NewWithT(t)
	p := &spy{next: script(t, longConversation())}
	m := compactingModel(p)
	res, err := (&llm.Loop{Model: m, Tools: []llm.Tool{echo("read", part)}}).Run(context.Background(), llm.LoopRequest{Phase: "execution", Prompt: "Read every part, then finish."})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopFinished), res.StopDetail)
	g.Expect(res.ModelCalls).To(Equal(201))
	g.Expect(res.Compactions).To(BeNumerically(">", 1))

	trigger := int(float64(m.ContextWindow-m.MaxOutputTokens) * 0.7)
	for i, n := range p.estimates {
		g.Expect(n).To(BeNumerically("<=", trigger), "request %d", i)
	}

	last := p.requests[len(p.requests)-1].Messages
	g.Expect(last[0].Text).To(HavePrefix("Read every part, then finish."), "the task stays first")
	g.Expect(last[0].Text).To(ContainSubstring("Summary of earlier work"))
	g.Expect(last[0].Text).To(ContainSubstring(`read {"path":"part19`), "the summary names the work it replaced")
	// The last six turns (at least) are verbatim; older ones are cut.
	var results []string
	for _, msg := range last {
		if msg.Role == llm.RoleTool {
			results = append(results, msg.Text)
		}
	}
	g.Expect(len(results)).To(BeNumerically(">", 6))
	g.Expect(results[len(results)-6:]).To(HaveEach(Equal(part)))
	g.Expect(results).To(ContainElement(ContainSubstring("[compacted: ")))
}

func TestCompactionSummarizesWithTheSummarizationModel(t *testing.T) {
	g := NewWithT(t)
	var summaries atomic.Int32
	summarizer := llm.ProviderFunc(func(_ context.Context, req *llm.Request) (*llm.Response, error) {
		n := summaries.Add(1)
		g.Expect(req.Tools).To(BeEmpty())
		g.Expect(req.Messages[0].Text).To(ContainSubstring("AGENT CALLS read"))
		return &llm.Response{Text: fmt.Sprintf("- summary number %d", n), Usage: llm.Usage{InputTokens: 5000, OutputTokens: 50}}, nil
	})
	p := &spy{next: script(t, longConversation())}
	m := compactingModel(p)
	m.Summarizer = &llm.Model{Provider: summarizer, Name: "test-model", ContextWindow: 32000, MaxOutputTokens: 500, Price: llm.PriceFor(pricedAt, "test-model")}
	budget := llm.NewBudget(0, 0)
	res, err := (&llm.Loop{Model: m, Tools: []llm.Tool{echo("read", part)}, Budget: budget}).Run(context.Background(), llm.LoopRequest{Phase: "execution", Prompt: "Read every part."})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopFinished))
	g.Expect(summaries.Load()).To(BeNumerically(">", 0))
	last := p.requests[len(p.requests)-1].Messages[0].Text
	g.Expect(last).To(ContainSubstring(fmt.Sprintf("- summary number %d", summaries.Load())))

	var phases []string
	for _, ph := range budget.Report().Phases {
		phases = append(phases, ph.Phase)
	}
	g.Expect(phases).To(ConsistOf("execution", "execution/compaction"))
	g.Expect(res.CostUSD).To(BeNumerically(">", 0), "the summaries' cost counts for the loop")
}

func TestContextLengthErrorCompactsHarderAndRetriesOnce(t *testing.T) {
	g := NewWithT(t)
	inner := script(t, repeat(readTurn, 8)+finishTurn)
	refusedOnce := false
	p := &spy{next: llm.ProviderFunc(func(ctx context.Context, req *llm.Request) (*llm.Response, error) {
		// The provider's window is smaller than the config claims.
		if llm.NewEstimator().Request(req) > 8000 && !refusedOnce {
			refusedOnce = true
			return nil, &llm.ContextLengthError{Provider: "test", Message: "maximum context length is 8000 tokens"}
		}
		return inner.Chat(ctx, req)
	})}
	res, err := (&llm.Loop{Model: compactingModel(p), Tools: []llm.Tool{echo("read", part)}}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(refusedOnce).To(BeTrue())
	g.Expect(res.Stop).To(Equal(llm.StopFinished))
	g.Expect(res.Compactions).To(BeNumerically(">=", 1))
}

func TestContextLengthErrorWithoutCompactionEndsTheLoop(t *testing.T) {
	g := NewWithT(t)
	p := llm.ProviderFunc(func(context.Context, *llm.Request) (*llm.Response, error) {
		return nil, &llm.ContextLengthError{Provider: "test", Message: "prompt is too long"}
	})
	res, err := (&llm.Loop{Model: model(p)}).Run(context.Background(), llm.LoopRequest{Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopContextLength))
	g.Expect(res.StopDetail).To(ContainSubstring("prompt is too long"))
}
