package scripted

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/llm"
)

// Recorder is a provider that appends every answer of the provider it
// wraps to a script file, as a turn that replays it. Each append is one
// write to a file opened for appending, so the recorders of several slots
// can share a file; the first turn of each recorder is introduced by a
// comment naming Header.
type Recorder struct {
	next   llm.Provider
	path   string
	slot   llm.Slot
	header string

	mu      sync.Mutex
	started bool
}

var _ llm.Provider = (*Recorder)(nil)

// Record wraps p so that its answers are appended to path as turns of
// slot. header describes the recording (agent, model, run) in the
// comment written before the first turn.
func Record(p llm.Provider, path string, slot llm.Slot, header string) *Recorder {
	return &Recorder{next: p, path: path, slot: slot, header: header}
}

// Chat implements llm.Provider. A failed write is logged, not returned:
// the run does not fail because its recording did.
func (r *Recorder) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	resp, err := r.next.Chat(ctx, req)
	if err != nil {
		return resp, err
	}
	if werr := r.append(turnOf(resp, r.slot)); werr != nil {
		logr.FromContextOrDiscard(ctx).Error(werr, "recording a model answer failed", "path", r.path)
	}
	return resp, nil
}

// turnOf is the turn that replays resp for slot.
func turnOf(resp *llm.Response, slot llm.Slot) Turn {
	u := resp.Usage
	t := Turn{Slot: string(slot), Text: resp.Text, StopReason: string(resp.StopReason), StopDetail: resp.StopDetail,
		Usage: &Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CachedInputTokens: u.CachedInputTokens, CacheWriteInputTokens: u.CacheWriteInputTokens}}
	for _, c := range resp.ToolCalls {
		t.ToolCalls = append(t.ToolCalls, ToolCall{Name: c.Name, Arguments: c.Arguments})
	}
	return t
}

func (r *Recorder) append(t Turn) error {
	item, err := marshalTurn(t)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		item = fmt.Sprintf("# recorded %s, slot %s: %s\n", time.Now().UTC().Format(time.RFC3339), r.slot, r.header) + item
	}
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open recording: %w", err)
	}
	if _, err := f.WriteString(item); err != nil {
		_ = f.Close()
		return fmt.Errorf("write recording: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close recording: %w", err)
	}
	r.started = true
	return nil
}
