package openai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/openai"
)

// BenchmarkChatCall100KB is what one model call of a tool loop costs the
// orchestrator on the wire: encoding a 100 KB conversation, the HTTP
// exchange over loopback and decoding a tool call. The fake answers at
// once, so the model's own latency is not in it (the fake's reading of the
// body is).
func BenchmarkChatCall100KB(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, toolCallAnswer)
	}))
	defer srv.Close()
	c, err := openai.New(openai.Config{Flavor: openai.FlavorOpenAI, BaseURL: srv.URL, Model: "gpt-4.1", APIKey: "k"})
	if err != nil {
		b.Fatal(err)
	}
	req := &llm.Request{System: "You fix bugs.", MaxOutputTokens: 16000, Messages: []llm.Message{llm.UserMessage("Fix the totals.")}}
	line := "func total(items []int) int { return sum(items) - 1 } // padding padding\n"
	for i := range 50 {
		id := fmt.Sprintf("call_%d", i)
		req.Messages = append(req.Messages,
			llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: id, Name: "read_file", Arguments: json.RawMessage(`{"path":"pkg/f.go"}`)}}},
			llm.Message{Role: llm.RoleTool, ToolCallID: id, ToolName: "read_file", Text: strings.Repeat(line, 2048/len(line)+1)})
	}
	for _, name := range []string{"read_file", "write_file", "edit_file", "list_directory", "grep", "run_command", "finish"} {
		req.Tools = append(req.Tools, llm.ToolDef{Name: name, Description: "A tool of the loop.", Parameters: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}}}`)})
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Chat(context.Background(), req)
		if err != nil || len(resp.ToolCalls) != 1 {
			b.Fatal(err)
		}
	}
}
