package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/anthropic"
	"github.com/agent-smith/agent-smith/llm/catalog"
	"github.com/agent-smith/agent-smith/llm/internal/fake"
)

// toolUseAnswer is a Messages API answer with text and a tool_use block,
// as documented.
const toolUseAnswer = `{
  "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
  "content": [
    {"type": "text", "text": "I'll fix the sign."},
    {"type": "tool_use", "id": "toolu_01", "name": "edit_file", "input": {"path": "add.go", "old_string": "a - b", "new_string": "a + b"}}
  ],
  "stop_reason": "tool_use", "stop_sequence": null,
  "usage": {"input_tokens": 200, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 2500, "output_tokens": 80}
}`

func TestAnthropicSpeaksMessagesWithToolUseAndToolResultBlocks(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, true)
	srv.Queue(fake.Answer{Status: 200, Body: toolUseAnswer})
	c, err := anthropic.New(anthropic.Config{Model: "claude-sonnet-4-5", APIKey: fake.Key, HTTPClient: srv.RedirectingClient()})
	g.Expect(err).NotTo(HaveOccurred())

	resp, err := c.Chat(context.Background(), fake.Conversation())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Text).To(Equal("I'll fix the sign."))
	g.Expect(resp.ToolCalls).To(HaveLen(1))
	g.Expect(resp.ToolCalls[0].ID).To(Equal("toolu_01"))
	g.Expect(resp.ToolCalls[0].Arguments).To(MatchJSON(`{"path": "add.go", "old_string": "a - b", "new_string": "a + b"}`))
	g.Expect(resp.StopReason).To(Equal(llm.StopToolUse))
	// Input is uncached + cache writes + cache reads.
	g.Expect(resp.Usage).To(Equal(llm.Usage{InputTokens: 3000, OutputTokens: 80, CachedInputTokens: 2500, CacheWriteInputTokens: 300}))

	req := srv.Requests()[0]
	g.Expect(req.Path).To(Equal("/v1/messages"))
	g.Expect(req.Header.Get("x-api-key")).To(Equal(fake.Key))
	g.Expect(req.Header.Get("anthropic-version")).To(Equal("2023-06-01"))
	g.Expect(req.Header.Get("Content-Type")).To(Equal("application/json"))
	g.Expect(req.Header.Get("Authorization")).To(BeEmpty())
	g.Expect(req.Raw).To(MatchJSON(`{
	  "model": "claude-sonnet-4-5",
	  "max_tokens": 4096,
	  "system": [{"type": "text", "text": "You fix bugs.", "cache_control": {"type": "ephemeral"}}],
	  "messages": [
	    {"role": "user", "content": [{"type": "text", "text": "Fix the failing test."}]},
	    {"role": "assistant", "content": [
	      {"type": "text", "text": "Let me look."},
	      {"type": "tool_use", "id": "call_1", "name": "read_file", "input": {"path": "add.go"}},
	      {"type": "tool_use", "id": "call_2", "name": "run_command", "input": {"command": "go test ./..."}}]},
	    {"role": "user", "content": [
	      {"type": "tool_result", "tool_use_id": "call_1", "content": "func Add(a, b int) int { return a - b }"},
	      {"type": "tool_result", "tool_use_id": "call_2", "content": "exit code 1", "is_error": true, "cache_control": {"type": "ephemeral"}}]}
	  ],
	  "tools": [
	    {"name": "read_file", "description": "Read a file.", "input_schema": {"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}},
	    {"name": "finish", "description": "Finish.", "input_schema": {"type":"object","properties":{"summary":{"type":"string"}}}}
	  ]
	}`))
}

func TestAnthropicStopReasonsAndDefaults(t *testing.T) {
	for reason, want := range map[string]llm.StopReason{
		"end_turn": llm.StopEndTurn, "max_tokens": llm.StopMaxTokens, "refusal": llm.StopRefusal,
		"stop_sequence": llm.StopEndTurn, "tool_use": llm.StopToolUse, "pause_turn": llm.StopPaused,
		// The window cut the answer, not the output cap: the loop compacts.
		"model_context_window_exceeded": llm.StopContextWindow,
		"a_reason_from_the_future":      llm.StopOther,
	} {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		srv.Queue(fake.Answer{Status: 200, Body: `{"id":"msg","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"hi"}],"stop_reason":"` + reason + `","usage":{"input_tokens":5,"output_tokens":1}}`})
		c, err := anthropic.New(anthropic.Config{BaseURL: srv.URL, Model: "claude-haiku-4-5", APIKey: fake.Key})
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}, JSON: true})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(resp.StopReason).To(Equal(want), reason)
		body := srv.Requests()[0].Body
		g.Expect(body).To(HaveKeyWithValue("max_tokens", BeNumerically(">", 0)), "max_tokens is required by the API")
		g.Expect(body["system"]).To(ContainElement(HaveKeyWithValue("text", ContainSubstring("single JSON object"))))
	}
}

func TestAnthropicErrorsAreClassified(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		header    map[string]string
		fixture   string
		retryable bool
		after     time.Duration
		ctxLen    bool
	}{
		{"rate limit with retry-after", 429, map[string]string{"retry-after": "12"}, "error_rate_limit.json", true, 12 * time.Second, false},
		{"overloaded 529", 529, nil, "error_overloaded.json", true, 0, false},
		{"prompt too long", 400, nil, "error_prompt_too_long.json", false, 0, true},
		{"input and max_tokens exceed the context limit", 400, nil, "error_context_limit.json", false, 0, true},
		{"request too large", 413, nil, "error_request_too_large.json", false, 0, true},
		{"max_tokens above the model's cap", 400, nil, "error_max_tokens_too_large.json", false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			srv := fake.NewServer(t, false)
			srv.Queue(fake.Answer{Status: tc.status, Header: tc.header, Body: fake.Fixture(t, tc.fixture)})
			c, err := anthropic.New(anthropic.Config{BaseURL: srv.URL, Model: "claude-sonnet-4-5", APIKey: fake.Key})
			g.Expect(err).NotTo(HaveOccurred())
			_, err = c.Chat(context.Background(), fake.Conversation())
			g.Expect(err).To(HaveOccurred())
			if tc.ctxLen {
				var cl *llm.ContextLengthError
				g.Expect(errors.As(err, &cl)).To(BeTrue(), "%v", err)
				return
			}
			var apiErr *llm.APIError
			g.Expect(errors.As(err, &apiErr)).To(BeTrue(), "%v", err)
			g.Expect(apiErr.Retryable).To(Equal(tc.retryable))
			g.Expect(apiErr.RetryAfter).To(Equal(tc.after))
		})
	}
	for _, tc := range []struct {
		name      string
		answer    fake.Answer
		retryable bool
	}{
		{"api error 500", fake.Answer{Status: 500, Body: `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`}, true},
		{"spend limit", fake.Answer{Status: 429, Body: `{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your specified API usage limits.","details":{"error_code":"enforced_spend_limit_reached"}}}`}, false},
		{"invalid request", fake.Answer{Status: 400, Body: `{"type":"error","error":{"type":"invalid_request_error","message":"tools.0.input_schema: JSON schema is invalid"}}`}, false},
	} {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		srv.Queue(tc.answer)
		c, err := anthropic.New(anthropic.Config{BaseURL: srv.URL, Model: "claude-sonnet-4-5", APIKey: fake.Key})
		g.Expect(err).NotTo(HaveOccurred())
		_, err = c.Chat(context.Background(), fake.Conversation())
		var apiErr *llm.APIError
		g.Expect(errors.As(err, &apiErr)).To(BeTrue(), "%s: %v", tc.name, err)
		g.Expect(apiErr.Retryable).To(Equal(tc.retryable), tc.name)
	}
}

func TestAnthropicMalformedAndTruncatedAnswersAreRetryable(t *testing.T) {
	for name, answer := range map[string]fake.Answer{
		"malformed": {Status: 200, Body: `{"id":"msg","content":[{"type":"text"`},
		"truncated": {Status: 200, Body: toolUseAnswer[:100], Truncate: true},
	} {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		srv.Queue(answer)
		c, err := anthropic.New(anthropic.Config{BaseURL: srv.URL, Model: "claude-sonnet-4-5", APIKey: fake.Key})
		g.Expect(err).NotTo(HaveOccurred())
		_, err = c.Chat(context.Background(), fake.Conversation())
		g.Expect(llm.IsRetryable(err)).To(BeTrue(), "%s: %v", name, err)
	}
}

func TestAnthropicSendsThinkingBlocksBackUnchangedBeforeTheToolCall(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "tool_use_with_thinking.json")})
	c, err := anthropic.New(anthropic.Config{BaseURL: srv.URL, Model: "claude-sonnet-5-5", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	tools := []llm.ToolDef{{Name: "read_file", Description: "Read a file.", Parameters: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`)}}
	task := llm.UserMessage("Fix the failing test.")
	first, err := c.Chat(context.Background(), &llm.Request{System: "You fix bugs.", Messages: []llm.Message{task}, Tools: tools, MaxOutputTokens: 16000})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.Text).To(Equal("I'll read the file first."), "thinking is not the answer")
	g.Expect(first.ToolCalls[0].Signature).To(ContainSubstring(`EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds`), "the thinking blocks ride on the turn's first call")
	g.Expect(first.StopReason).To(Equal(llm.StopToolUse))
	g.Expect(first.Usage).To(Equal(llm.Usage{InputTokens: 50 + 2048 + 1800, OutputTokens: 503, CachedInputTokens: 1800, CacheWriteInputTokens: 2048}))

	call := first.ToolCalls[0]
	_, err = c.Chat(context.Background(), &llm.Request{System: "You fix bugs.", Tools: tools, MaxOutputTokens: 16000, Messages: []llm.Message{
		task,
		{Role: llm.RoleAssistant, Text: first.Text, ToolCalls: first.ToolCalls},
		{Role: llm.RoleTool, ToolCallID: call.ID, ToolName: call.Name, Text: "func Add(a, b int) int { return a - b }"},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Requests()[1].Raw).To(MatchJSON(fake.Fixture(t, "tool_result_request.json")))
}

func TestAnthropicCacheWritesCostTheirOwnRate(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "tool_use_with_thinking.json")})
	c, err := anthropic.New(anthropic.Config{BaseURL: srv.URL, Model: "claude-sonnet-5-5", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	resp, err := c.Chat(context.Background(), fake.Conversation())
	g.Expect(err).NotTo(HaveOccurred())
	entry, ok := catalog.Lookup(catalog.Anthropic, "claude-sonnet-5-5")
	g.Expect(ok).To(BeTrue())
	// 50 uncached × $2 + 2048 written × $2.50 (1.25x) + 1800 read × $0.10 + 503 out × $10, per million.
	g.Expect(llm.CatalogPrice(entry.Price).Cost(resp.Usage)).To(BeNumerically("~", (50*2+2048*2.5+1800*0.1+503*10)/1e6, 1e-12))
}

func TestAnthropicClampsMaxTokensToTheModelsOutputCap(t *testing.T) {
	override := catalog.Resolve(catalog.Anthropic, "claude-haiku-4-5", &catalog.Override{MaxOutputTokens: 4096})
	for _, tc := range []struct {
		name  string
		model string
		info  *catalog.Known
		asked int
		want  int
	}{
		{"above the catalog's cap", "claude-haiku-4-5-20251001", nil, 128000, 64000},
		{"under the cap", "claude-haiku-4-5", nil, 16000, 16000},
		{"unset takes the default", "claude-haiku-4-5", nil, 0, 8192},
		{"the agent's override", "claude-haiku-4-5", &override, 16000, 4096},
		{"a model the catalog does not know", "claude-next", nil, 128000, 128000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			srv := fake.NewServer(t, false)
			srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "stop_context_window.json")})
			c, err := anthropic.New(anthropic.Config{BaseURL: srv.URL, Model: tc.model, Info: tc.info, APIKey: fake.Key})
			g.Expect(err).NotTo(HaveOccurred())
			_, err = c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}, MaxOutputTokens: tc.asked})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(srv.Requests()[0].Body).To(HaveKeyWithValue("max_tokens", BeNumerically("==", tc.want)))
		})
	}
}

func TestAnthropicContextWindowStopIsNotAnOutputLimit(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "stop_context_window.json")})
	c, err := anthropic.New(anthropic.Config{BaseURL: srv.URL, Model: "claude-sonnet-5-5", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	resp, err := c.Chat(context.Background(), fake.Conversation())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.StopReason).To(Equal(llm.StopContextWindow))
	g.Expect(resp.StopDetail).To(Equal("model_context_window_exceeded"))
	g.Expect(resp.Usage.CachedInputTokens).To(Equal(995000))
}
