package llm_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/scripted"
)

// script builds a scripted provider from YAML turns.
func script(t testing.TB, yaml string) *scripted.Provider {
	t.Helper()
	turns, err := scripted.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return scripted.New("test script", turns, llm.SlotExecution)
}

// spy records every request a provider is sent, with its token estimate.
type spy struct {
	next llm.Provider

	mu        sync.Mutex
	requests  []*llm.Request
	estimates []int
}

func (s *spy) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	s.mu.Lock()
	copied := *req
	copied.Messages = append([]llm.Message(nil), req.Messages...)
	s.requests = append(s.requests, &copied)
	s.estimates = append(s.estimates, llm.NewEstimator().Request(req))
	s.mu.Unlock()
	return s.next.Chat(ctx, req)
}

func (s *spy) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// model wraps p as a model with a large window and compaction off.
func model(p llm.Provider) *llm.Model {
	return &llm.Model{Provider: p, Name: "test-model", ContextWindow: 100000, MaxOutputTokens: 1000}
}

// tool is a test tool answering with a function.
type tool struct {
	name string
	fn   func(ctx context.Context, args json.RawMessage) (string, error)
}

func (t tool) Def() llm.ToolDef {
	return llm.ToolDef{Name: t.name, Description: "test tool " + t.name, Parameters: json.RawMessage(`{"type":"object"}`)}
}

func (t tool) Call(ctx context.Context, args json.RawMessage) (string, error) { return t.fn(ctx, args) }

// echo answers with a fixed text.
func echo(name, out string) tool {
	return tool{name: name, fn: func(context.Context, json.RawMessage) (string, error) { return out, nil }}
}

// repeat is n copies of a YAML turn.
func repeat(turn string, n int) string { return strings.Repeat(turn, n) }

var pricedAt = map[string]config.Pricing{"test-model": {InputPerMillion: 1000, OutputPerMillion: 2000, CachedInputPerMillion: 100}}
