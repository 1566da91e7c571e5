package llm

import (
	"fmt"
	"strings"
)

// Markdown renders the report for the run's result.md: totals against the
// caps, one row per phase, one per call.
func (r Report) Markdown() string {
	var b strings.Builder
	b.WriteString("## Model usage\n\n")
	fmt.Fprintf(&b, "Total: %d input tokens (%d cached), %d output tokens, %s", r.Usage.InputTokens, r.Usage.CachedInputTokens,
		r.Usage.OutputTokens, usd(r.CostUSD))
	var caps []string
	if r.MaxCostUSD > 0 {
		caps = append(caps, "cost cap "+usd(r.MaxCostUSD))
	}
	if r.MaxTokens > 0 {
		caps = append(caps, fmt.Sprintf("token cap %d", r.MaxTokens))
	}
	if len(caps) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(caps, ", "))
	}
	b.WriteString(".\n")
	if r.Exhausted != "" {
		fmt.Fprintf(&b, "\n**Budget exhausted:** %s. Later model calls were not made.\n", r.Exhausted)
	}
	if len(r.UnpricedModels) > 0 {
		fmt.Fprintf(&b, "\nNo price configured for %s: their cost is not included.\n", strings.Join(r.UnpricedModels, ", "))
	}
	if len(r.Phases) > 0 {
		b.WriteString("\n| Phase | Calls | Input | Cached | Output | Cost |\n|---|---:|---:|---:|---:|---:|\n")
		for _, p := range r.Phases {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s |\n", p.Phase, p.Calls, p.Usage.InputTokens, p.Usage.CachedInputTokens,
				p.Usage.OutputTokens, usd(p.CostUSD))
		}
	}
	if len(r.Calls) > 0 {
		b.WriteString("\n<details><summary>Calls</summary>\n\n| # | Phase | Model | Input | Cached | Output | Cost | Seconds |\n|---:|---|---|---:|---:|---:|---:|---:|\n")
		for i, c := range r.Calls {
			fmt.Fprintf(&b, "| %d | %s | %s | %d | %d | %d | %s | %.1f |\n", i+1, c.Phase, c.Model, c.Usage.InputTokens,
				c.Usage.CachedInputTokens, c.Usage.OutputTokens, usd(c.CostUSD), c.Duration.Seconds())
		}
		b.WriteString("\n</details>\n")
	}
	return b.String()
}

func usd(v float64) string { return fmt.Sprintf("$%.4f", v) }
