package llm

import (
	"strings"

	"github.com/agent-smith/agent-smith/config"
)

// Price is what a model charges in USD per million tokens.
type Price struct {
	InputPerMillion       float64 `json:"inputPerMillion"`
	OutputPerMillion      float64 `json:"outputPerMillion"`
	CachedInputPerMillion float64 `json:"cachedInputPerMillion"`
	// Known is false for a model missing from the pricing table: its calls
	// count tokens against the caps but no money.
	Known bool `json:"known"`
}

// Cost is the USD price of usage. Cached input tokens are billed at the
// cached price, the rest of the input at the input price.
func (p Price) Cost(u Usage) float64 {
	cached := min(u.CachedInputTokens, u.InputTokens)
	return (float64(u.InputTokens-cached)*p.InputPerMillion +
		float64(cached)*p.CachedInputPerMillion +
		float64(u.OutputTokens)*p.OutputPerMillion) / 1e6
}

// PriceFor looks model up in an agent's pricing table: an exact key, else
// the longest key the model name starts with, so that a dated model
// version ("gpt-4.1-2025-04-14") takes its family's price ("gpt-4.1").
func PriceFor(table map[string]config.Pricing, model string) Price {
	best, found := "", false
	for key := range table {
		if key == model {
			best, found = key, true
			break
		}
		if strings.HasPrefix(model, key) && len(key) > len(best) {
			best, found = key, true
		}
	}
	if !found {
		return Price{}
	}
	p := table[best]
	return Price{InputPerMillion: p.InputPerMillion, OutputPerMillion: p.OutputPerMillion, CachedInputPerMillion: p.CachedInputPerMillion, Known: true}
}
