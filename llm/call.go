package llm

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
)

// send makes one accounted model call: the budget admits the request's
// estimated input, the provider answers, and the actual usage is
// committed to the budget, logged and traced.
func send(ctx context.Context, m *Model, budget *Budget, phase string, req *Request, estimate int) (*Response, CallRecord, error) {
	res, err := budget.Reserve(phase, estimate, m.Price)
	if err != nil {
		return nil, CallRecord{}, err
	}
	start := time.Now()
	resp, err := m.Provider.Chat(ctx, req)
	if err != nil {
		res.Release()
		err = fmt.Errorf("call %s: %w", m.Name, err)
		traceModel(ctx, ModelCallInfo{Phase: phase, Model: m.Name, Duration: time.Since(start), Err: err})
		return nil, CallRecord{}, err
	}
	name := resp.Model
	if name == "" {
		name = m.Name
	}
	rec := res.Commit(name, resp.Usage, time.Since(start))
	traceModel(ctx, ModelCallInfo{Phase: phase, Model: name, Usage: resp.Usage, CostUSD: rec.CostUSD, Duration: rec.Duration, Stop: resp.StopReason})
	if debug := logr.FromContextOrDiscard(ctx).V(1); debug.Enabled() {
		debug.Info("model call", "phase", phase, "model", name, "inputTokens", resp.Usage.InputTokens,
			"cachedInputTokens", resp.Usage.CachedInputTokens, "outputTokens", resp.Usage.OutputTokens,
			"costUSD", rec.CostUSD, "stopReason", string(resp.StopReason), "toolCalls", len(resp.ToolCalls),
			"seconds", rec.Duration.Seconds())
	}
	return resp, rec, nil
}
