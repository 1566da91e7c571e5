package llm

import (
	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm/catalog"
)

// Price is what a model charges in USD per million tokens.
type Price struct {
	InputPerMillion       float64 `json:"inputPerMillion"`
	OutputPerMillion      float64 `json:"outputPerMillion"`
	CachedInputPerMillion float64 `json:"cachedInputPerMillion"`
	// CacheWritePerMillion bills input written to the prompt cache; 0
	// bills it at the input price.
	CacheWritePerMillion float64 `json:"cacheWritePerMillion,omitempty"`
	// LongAbove, when above 0, is the prompt size past which Long prices
	// the whole call.
	LongAbove int    `json:"longAbove,omitempty"`
	Long      *Price `json:"long,omitempty"`
	// Known is false for a model with no price in the agent's pricing
	// table nor the catalog: its calls count tokens against the caps but
	// no money.
	Known bool `json:"known"`
}

// Cost is the USD price of usage. Cached input tokens are billed at the
// cached price, cache writes at the cache-write price, the rest of the
// input at the input price.
func (p Price) Cost(u Usage) float64 {
	if p.LongAbove > 0 && p.Long != nil && u.InputTokens > p.LongAbove {
		return p.Long.Cost(u)
	}
	cached := min(u.CachedInputTokens, u.InputTokens)
	written := min(u.CacheWriteInputTokens, u.InputTokens-cached)
	write := p.CacheWritePerMillion
	if write == 0 {
		write = p.InputPerMillion
	}
	return (float64(u.InputTokens-cached-written)*p.InputPerMillion +
		float64(cached)*p.CachedInputPerMillion +
		float64(written)*write +
		float64(u.OutputTokens)*p.OutputPerMillion) / 1e6
}

// PriceFor prices model: the agent's pricing table first (TablePricing),
// then the built-in catalog.
func PriceFor(table map[string]config.Pricing, model string) Price {
	if p, ok := TablePricing(table, model); ok {
		return Price{InputPerMillion: p.InputPerMillion, OutputPerMillion: p.OutputPerMillion, CachedInputPerMillion: p.CachedInputPerMillion,
			CacheWritePerMillion: p.CacheWritePerMillion, Known: true}
	}
	if e, ok := catalog.Find(model); ok {
		return CatalogPrice(e.Price)
	}
	return Price{}
}

// TablePricing is model's entry of an agent's pricing table: an exact key
// wins, else the longest key model is a dated or versioned name of, so
// that "gpt-4.1-2025-04-14" takes the price of "gpt-4.1", and
// "gpt-4.1-mini" does not.
func TablePricing(table map[string]config.Pricing, model string) (config.Pricing, bool) {
	best, found := "", false
	for key := range table {
		if key == model {
			return table[key], true
		}
		if catalog.NamesModel(model, key) && len(key) > len(best) {
			best, found = key, true
		}
	}
	return table[best], found
}

// CatalogPrice is a catalog price as the budget bills it.
func CatalogPrice(p catalog.Price) Price {
	out := fromRates(p.Rates)
	if p.LongAbove > 0 {
		long := fromRates(p.Long)
		out.LongAbove, out.Long = p.LongAbove, &long
	}
	return out
}

// ModelPrice prices a resolved catalog model: local models are known to
// cost nothing, models without a known price are unknown.
func ModelPrice(k catalog.Known) Price {
	if !k.Priced {
		return Price{}
	}
	return CatalogPrice(k.Price)
}

func fromRates(r catalog.Rates) Price {
	return Price{InputPerMillion: r.Input, OutputPerMillion: r.Output, CachedInputPerMillion: r.CachedInput,
		CacheWritePerMillion: r.CacheWrite, Known: true}
}
