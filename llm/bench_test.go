package llm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/agent-smith/agent-smith/llm"
)

// history100KB is a conversation of about 100 KB: the task and 50 turns
// of a read_file call with a 2 KB result. Each call makes fresh strings,
// as a real conversation's would be.
func history100KB(seed int) []llm.Message {
	msgs := []llm.Message{llm.UserMessage(fmt.Sprintf("Fix ticket %d: the totals are off by one.", seed))}
	line := fmt.Sprintf("func total%d(items []int) int { return sum(items) - 1 } // %s\n", seed, strings.Repeat("pad", 10))
	for i := range 50 {
		id := fmt.Sprintf("call_%d", i)
		msgs = append(msgs,
			llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: id, Name: "read", Arguments: json.RawMessage(fmt.Sprintf(`{"path":"pkg/f%d.go"}`, i))}}},
			llm.Message{Role: llm.RoleTool, ToolCallID: id, ToolName: "read", Text: strings.Repeat(line, 2048/len(line)+1)})
	}
	return msgs
}

// iterationsPerRun is how many tool iterations one benchmark op runs
// before the finishing call; the conversation stays near 100 KB.
const iterationsPerRun = 20

// iterationModel answers with iterationsPerRun tool calls, then finish.
func iterationModel() llm.Provider {
	var n int
	var mu sync.Mutex
	callRead := &llm.Response{ToolCalls: []llm.ToolCall{{ID: "x1", Name: "read", Arguments: json.RawMessage(`{"path":"pkg/f1.go"}`)}},
		StopReason: llm.StopToolUse, Usage: llm.Usage{InputTokens: 30000, OutputTokens: 20}}
	finish := &llm.Response{ToolCalls: []llm.ToolCall{{ID: "x2", Name: "finish", Arguments: json.RawMessage(`{"summary":"done"}`)}},
		StopReason: llm.StopToolUse, Usage: llm.Usage{InputTokens: 30100, OutputTokens: 20}}
	return llm.ProviderFunc(func(context.Context, *llm.Request) (*llm.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n%(iterationsPerRun+1) == 0 {
			return finish, nil
		}
		return callRead, nil
	})
}

// BenchmarkLoopIteration100KB is the orchestrator's own work per tool
// iteration of a conversation holding 100 KB: estimating and checking the
// request against the window, the limits and the budget, booking the
// call, running a tool, appending the turn. The model and the tool answer
// at once. One op is a loop run of 20 iterations plus the finishing call;
// ns/iteration is the op divided by 21.
func BenchmarkLoopIteration100KB(b *testing.B) {
	history := history100KB(0)
	m := &llm.Model{Provider: iterationModel(), Name: "gpt-4.1", ContextWindow: 128000, MaxOutputTokens: 16000,
		Price: llm.PriceFor(pricedAt, "test-model")}
	m.Compaction.Enabled, m.Compaction.TriggerRatio, m.Compaction.KeepRecentTurns = true, 0.7, 6
	loop := llm.Loop{Model: m, Tools: []llm.Tool{echo("read", "package f1 // 120 bytes of a small file read back by the tool, as a short result would be.\n")},
		Limits: llm.Limits{MaxToolCalls: 60, MaxModelCalls: 40, MaxInputTokensPerCall: 200000}}
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		loop.Budget = llm.NewBudget(1e6, 1e9)
		res, err := loop.Run(context.Background(), llm.LoopRequest{Phase: "execution", History: history, Prompt: "go on"})
		if err != nil || res.Stop != llm.StopFinished || len(res.ToolCalls) != iterationsPerRun {
			b.Fatalf("%v %s %d", err, res.Stop, len(res.ToolCalls))
		}
	}
	runtime.ReadMemStats(&ms1)
	iterations := float64(b.N * (iterationsPerRun + 1))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/iterations, "ns/iteration")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/iterations, "allocs/iteration")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/iterations, "B/iteration")
}

// BenchmarkConversationMemory100KB is the heap one in-flight conversation
// holds: a loop with 100 KB of history waiting on its model call.
func BenchmarkConversationMemory100KB(b *testing.B) {
	const conversations = 200
	// The timer runs throughout: with it stopped the benchmark could not
	// size itself and would go on for ever.
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		entered := make(chan struct{}, conversations)
		release := make(chan struct{})
		waiting := llm.ProviderFunc(func(ctx context.Context, _ *llm.Request) (*llm.Response, error) {
			entered <- struct{}{}
			<-release
			return &llm.Response{Text: "done"}, nil
		})
		var wg sync.WaitGroup
		for i := range conversations {
			history := history100KB(i)
			wg.Go(func() {
				loop := llm.Loop{Model: &llm.Model{Provider: waiting, Name: "m", ContextWindow: 128000}, Budget: llm.NewBudget(0, 0)}
				_, _ = loop.Run(context.Background(), llm.LoopRequest{History: history, Prompt: "go on"})
			})
		}
		for range conversations {
			<-entered
		}
		runtime.GC()
		var during runtime.MemStats
		runtime.ReadMemStats(&during)
		close(release)
		wg.Wait()
		perConv := float64(during.HeapAlloc-before.HeapAlloc) / conversations
		b.ReportMetric(perConv, "heapB/conversation")
		b.ReportMetric(perConv-float64(historyBytes(history100KB(0))), "overheadB/conversation")
	}
}

func historyBytes(msgs []llm.Message) int {
	n := 0
	for _, m := range msgs {
		n += len(m.Text)
		for _, c := range m.ToolCalls {
			n += len(c.Arguments) + len(c.ID) + len(c.Name)
		}
	}
	return n
}
