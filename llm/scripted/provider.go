package scripted

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/agent-smith/agent-smith/llm"
)

// ErrExhausted is the error of a call after the script's last turn.
var ErrExhausted = errors.New("script has no turn left")

// Provider replays the turns of one slot in order. Safe for concurrent
// use; each call takes the next turn.
type Provider struct {
	name string

	mu    sync.Mutex
	turns []Turn
	next  int
	calls int
}

var _ llm.Provider = (*Provider)(nil)

// New returns a provider replaying the turns meant for slot: those
// without a slot and those naming it. name identifies the script in errors.
func New(name string, turns []Turn, slot llm.Slot) *Provider {
	p := &Provider{name: name}
	for _, t := range turns {
		if t.Slot == "" || t.Slot == string(slot) {
			p.turns = append(p.turns, t)
		}
	}
	return p
}

// Remaining is the number of turns not yet replayed.
func (p *Provider) Remaining() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.turns) - p.next
}

// Chat implements llm.Provider.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.next >= len(p.turns) {
		n := len(p.turns)
		p.mu.Unlock()
		return nil, fmt.Errorf("%s: all %d turns replayed: %w", p.name, n, ErrExhausted)
	}
	t := p.turns[p.next]
	p.next++
	first := p.calls
	p.calls += len(t.ToolCalls)
	p.mu.Unlock()

	resp := &llm.Response{Text: t.Text, Model: "scripted", StopDetail: t.StopDetail}
	out := len(t.Text)
	for i, c := range t.ToolCalls {
		resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: fmt.Sprintf("call_%d", first+i+1), Name: c.Name, Arguments: c.Arguments})
		out += len(c.Name) + len(c.Arguments)
	}
	resp.StopReason = stopReasons[t.StopReason]
	if t.StopReason == "" {
		resp.StopReason = llm.StopEndTurn
		if len(t.ToolCalls) > 0 {
			resp.StopReason = llm.StopToolUse
		}
	}
	if t.Usage != nil {
		resp.Usage = llm.Usage{InputTokens: t.Usage.InputTokens, OutputTokens: t.Usage.OutputTokens, CachedInputTokens: t.Usage.CachedInputTokens,
			CacheWriteInputTokens: t.Usage.CacheWriteInputTokens}
	} else {
		// Estimates keep limits, budgets and compaction meaningful in a
		// dry run.
		resp.Usage = llm.Usage{InputTokens: llm.NewEstimator().Request(req), OutputTokens: llm.EstimateTokens(out)}
	}
	return resp, nil
}
