package llm_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
)

func TestCostIsPricedPerCallWithCachedInputAtItsOwnPrice(t *testing.T) {
	g := NewWithT(t)
	price := llm.Price{InputPerMillion: 2, OutputPerMillion: 8, CachedInputPerMillion: 0.5, Known: true}
	// 1M input of which 400k cached: 600k×2 + 400k×0.5 = 1.4; 100k output × 8 = 0.8.
	g.Expect(price.Cost(llm.Usage{InputTokens: 1_000_000, CachedInputTokens: 400_000, OutputTokens: 100_000})).To(BeNumerically("~", 2.2, 1e-9))
}

func TestCacheWritesAreBilledAtTheirOwnPrice(t *testing.T) {
	g := NewWithT(t)
	// Anthropic's 5-minute writes cost 1.25x the base input.
	price := llm.Price{InputPerMillion: 3, OutputPerMillion: 15, CachedInputPerMillion: 0.3, CacheWritePerMillion: 3.75, Known: true}
	// 1M input: 200k uncached × 3 + 300k written × 3.75 + 500k read × 0.3 = 0.6 + 1.125 + 0.15.
	u := llm.Usage{InputTokens: 1_000_000, CacheWriteInputTokens: 300_000, CachedInputTokens: 500_000}
	g.Expect(price.Cost(u)).To(BeNumerically("~", 1.875, 1e-9))
	price.CacheWritePerMillion = 0
	g.Expect(price.Cost(u)).To(BeNumerically("~", 0.6+0.9+0.15, 1e-9), "without a cache-write price, writes cost the input price")
}

func TestALongPromptPricesTheWholeCallAtTheLongRates(t *testing.T) {
	g := NewWithT(t)
	price := llm.Price{InputPerMillion: 2, OutputPerMillion: 10, Known: true, LongAbove: 272_000,
		Long: &llm.Price{InputPerMillion: 4, OutputPerMillion: 15, Known: true}}
	g.Expect(price.Cost(llm.Usage{InputTokens: 272_000, OutputTokens: 1000})).To(BeNumerically("~", 0.544+0.01, 1e-9))
	g.Expect(price.Cost(llm.Usage{InputTokens: 272_001, OutputTokens: 1000})).To(BeNumerically("~", 272_001*4/1e6+0.015, 1e-9))
}

func TestPriceLookupTakesTheTableBySnapshotThenTheCatalog(t *testing.T) {
	table := map[string]config.Pricing{
		"gpt-4.1":      {InputPerMillion: 2.2},
		"gpt-4.1-mini": {InputPerMillion: 0.4},
	}
	for model, want := range map[string]float64{
		"gpt-4.1":                 2.2,
		"gpt-4.1-2025-04-14":      2.2,
		"gpt-4.1-mini-2025-04-14": 0.4,
		"gpt-4o":                  2.5, // from the catalog
		"gpt-4.1-nano":            0.1, // a neighbour of gpt-4.1, not a snapshot: the catalog's
		"my-finetune":             0,
	} {
		p := llm.PriceFor(table, model)
		NewWithT(t).Expect(p.InputPerMillion).To(Equal(want), model)
		NewWithT(t).Expect(p.Known).To(Equal(want != 0), model)
	}
}

func TestBudgetRefusesCallsThatWouldCrossACap(t *testing.T) {
	price := llm.Price{InputPerMillion: 1000, OutputPerMillion: 1000, Known: true} // $0.001 per token
	for _, tc := range []struct {
		name      string
		budget    *llm.Budget
		spent     llm.Usage
		nextInput int
		cap       string
	}{
		{"cost", llm.NewBudget(1, 0), llm.Usage{InputTokens: 900}, 200, "cost"},
		{"tokens", llm.NewBudget(0, 1000), llm.Usage{InputTokens: 700, OutputTokens: 200}, 101, "tokens"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			r, err := tc.budget.Reserve("planning", 10, price)
			g.Expect(err).NotTo(HaveOccurred())
			r.Commit("m", tc.spent, 0)
			_, err = tc.budget.Reserve("execution", tc.nextInput, price)
			var be *llm.BudgetError
			g.Expect(errors.As(err, &be)).To(BeTrue())
			g.Expect(be.Cap).To(Equal(tc.cap))
			g.Expect(errors.Is(err, llm.ErrBudgetExhausted)).To(BeTrue())
			g.Expect(tc.budget.Report().Exhausted).To(ContainSubstring(tc.cap + " cap"))
			// A call that still fits is admitted.
			_, err = tc.budget.Reserve("execution", 1, price)
			g.Expect(err).NotTo(HaveOccurred())
		})
	}
}

func TestConcurrentReservationsCannotJointlyOvershootTheCap(t *testing.T) {
	g := NewWithT(t)
	b := llm.NewBudget(0, 1000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for range 50 {
		wg.Go(func() {
			if _, err := b.Reserve("review", 100, llm.Price{}); err == nil {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	g.Expect(admitted).To(Equal(10))
}

func TestBudgetReportsPerPhaseAndPerCall(t *testing.T) {
	g := NewWithT(t)
	b := llm.NewBudget(5, 0)
	price := llm.Price{InputPerMillion: 2, OutputPerMillion: 8, Known: true}
	for _, c := range []struct {
		phase string
		usage llm.Usage
	}{
		{"planning", llm.Usage{InputTokens: 1000, OutputTokens: 100}},
		{"execution", llm.Usage{InputTokens: 5000, OutputTokens: 200}},
		{"execution", llm.Usage{InputTokens: 6000, OutputTokens: 300, CachedInputTokens: 5000}},
	} {
		r, err := b.Reserve(c.phase, c.usage.InputTokens, price)
		g.Expect(err).NotTo(HaveOccurred())
		r.Commit("gpt-4.1", c.usage, 0)
	}
	unpriced, err := b.Reserve("review", 10, llm.Price{})
	g.Expect(err).NotTo(HaveOccurred())
	unpriced.Commit("mystery-model", llm.Usage{InputTokens: 10, OutputTokens: 1}, 0)

	rep := b.Report()
	g.Expect(rep.Calls).To(HaveLen(4))
	g.Expect(rep.Phases).To(HaveLen(3))
	g.Expect(rep.Phases[1].Phase).To(Equal("execution"))
	g.Expect(rep.Phases[1].Calls).To(Equal(2))
	g.Expect(rep.Phases[1].Usage).To(Equal(llm.Usage{InputTokens: 11000, OutputTokens: 500, CachedInputTokens: 5000}))
	g.Expect(rep.Usage.Total()).To(Equal(1100 + 11500 + 11))
	g.Expect(rep.UnpricedModels).To(Equal([]string{"mystery-model"}))
	g.Expect(rep.CostUSD).To(BeNumerically("~", rep.Phases[0].CostUSD+rep.Phases[1].CostUSD, 1e-12))
	md := rep.Markdown()
	g.Expect(md).To(ContainSubstring("| execution | 2 | 11000 | 5000 | 500 |"))
	g.Expect(md).To(ContainSubstring("cost cap $5.0000"))
	g.Expect(md).To(ContainSubstring("No price configured for mystery-model"))
}

func TestCostCapStopsFurtherModelCallsAndSaysSo(t *testing.T) {
	g := NewWithT(t)
	// Each call reports 1000 input tokens at $1000 per million: $1 a call.
	p := &spy{next: script(t, repeat(`
- tool_calls: [{name: read}]
  usage: {input_tokens: 1000, output_tokens: 0}
`, 10))}
	m := model(p)
	m.Price = llm.PriceFor(pricedAt, "test-model")
	budget := llm.NewBudget(2.5, 0)
	res, err := (&llm.Loop{Model: m, Tools: []llm.Tool{echo("read", "ok")}, Budget: budget}).Run(context.Background(), llm.LoopRequest{Phase: "execution", Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopBudget))
	g.Expect(res.StopDetail).To(ContainSubstring("cost cap reached"))
	g.Expect(p.calls()).To(Equal(2), "the third call would cross $2.50")
	g.Expect(res.CostUSD).To(BeNumerically("~", 2.0, 1e-9))

	// The next phase of the run is refused at once: the budget is shared.
	q := &spy{next: script(t, finishTurn)}
	m2 := model(q)
	m2.Price = m.Price
	res2, err := (&llm.Loop{Model: m2, Budget: budget}).Run(context.Background(), llm.LoopRequest{Phase: "review", Prompt: strings1k})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res2.Stop).To(Equal(llm.StopBudget))
	g.Expect(q.calls()).To(BeZero())
	g.Expect(budget.Report().Exhausted).To(ContainSubstring("$2.0000 of $2.50 spent"))
}

// strings1k is a prompt of about 1000 tokens.
var strings1k = string(make([]byte, 3500))
