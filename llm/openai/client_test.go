package openai_test

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/internal/fake"
	"github.com/agent-smith/agent-smith/llm/openai"
)

// toolCallAnswer is a chat completion asking for a tool, as documented.
const toolCallAnswer = `{
  "id": "chatcmpl-1", "object": "chat.completion", "created": 1760000000, "model": "gpt-4.1-2025-04-14",
  "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
    "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"add.go\"}"}}]}}],
  "usage": {"prompt_tokens": 1200, "completion_tokens": 30, "total_tokens": 1230, "prompt_tokens_details": {"cached_tokens": 1024}}
}`

func TestOpenAISpeaksChatCompletionsWithToolCalls(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, true)
	srv.Queue(fake.Answer{Status: 200, Body: toolCallAnswer})
	c, err := openai.New(openai.Config{Flavor: openai.FlavorOpenAI, Model: "gpt-4.1", APIKey: fake.Key, HTTPClient: srv.RedirectingClient()})
	g.Expect(err).NotTo(HaveOccurred())

	resp, err := c.Chat(context.Background(), fake.Conversation())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.ToolCalls).To(HaveLen(1))
	g.Expect(resp.ToolCalls[0].ID).To(Equal("call_9"))
	g.Expect(resp.ToolCalls[0].Name).To(Equal("read_file"))
	g.Expect(resp.ToolCalls[0].Arguments).To(MatchJSON(`{"path":"add.go"}`))
	g.Expect(resp.StopReason).To(Equal(llm.StopToolUse))
	g.Expect(resp.Usage).To(Equal(llm.Usage{InputTokens: 1200, OutputTokens: 30, CachedInputTokens: 1024}))
	g.Expect(resp.Model).To(Equal("gpt-4.1-2025-04-14"))

	req := srv.Requests()[0]
	g.Expect(req.Method).To(Equal("POST"))
	g.Expect(req.Path).To(Equal("/v1/chat/completions"))
	g.Expect(req.Header.Get("Authorization")).To(Equal("Bearer " + fake.Key))
	g.Expect(req.Header.Get("Content-Type")).To(Equal("application/json"))
	g.Expect(req.Raw).To(MatchJSON(`{
	  "model": "gpt-4.1",
	  "max_completion_tokens": 4096,
	  "messages": [
	    {"role": "system", "content": "You fix bugs."},
	    {"role": "user", "content": "Fix the failing test."},
	    {"role": "assistant", "content": "Let me look.", "tool_calls": [
	      {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"add.go\"}"}},
	      {"id": "call_2", "type": "function", "function": {"name": "run_command", "arguments": "{\"command\":\"go test ./...\"}"}}]},
	    {"role": "tool", "tool_call_id": "call_1", "content": "func Add(a, b int) int { return a - b }"},
	    {"role": "tool", "tool_call_id": "call_2", "content": "exit code 1"}
	  ],
	  "tools": [
	    {"type": "function", "function": {"name": "read_file", "description": "Read a file.",
	      "parameters": {"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}},
	    {"type": "function", "function": {"name": "finish", "description": "Finish.",
	      "parameters": {"type":"object","properties":{"summary":{"type":"string"}}}}}
	  ]
	}`))
}

func TestAzureUsesTheDeploymentURLAndTheApiKeyHeader(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: `{"id":"x","model":"gpt-4.1","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"{\"ok\":true}"}}],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13}}`})
	c, err := openai.New(openai.Config{Flavor: openai.FlavorAzure, BaseURL: srv.URL + "/", Deployment: "gpt-4.1-prod", APIVersion: "2024-10-21", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())

	resp, err := c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}, MaxOutputTokens: 100, JSON: true})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Text).To(Equal(`{"ok":true}`))
	g.Expect(resp.StopReason).To(Equal(llm.StopEndTurn))

	req := srv.Requests()[0]
	g.Expect(req.Path).To(Equal("/openai/deployments/gpt-4.1-prod/chat/completions"))
	g.Expect(req.Query["api-version"]).To(Equal([]string{"2024-10-21"}))
	g.Expect(req.Header.Get("api-key")).To(Equal(fake.Key))
	g.Expect(req.Header.Get("Authorization")).To(BeEmpty())
	g.Expect(req.Body).NotTo(HaveKey("model"), "the deployment in the URL names the model")
	g.Expect(req.Body).To(HaveKeyWithValue("max_completion_tokens", BeNumerically("==", 100)))
	g.Expect(req.Body).To(HaveKeyWithValue("response_format", map[string]any{"type": "json_object"}))
}

func TestOpenAIErrorsAreClassified(t *testing.T) {
	type check func(g Gomega, err error)
	retryable := func(after time.Duration) check {
		return func(g Gomega, err error) {
			var apiErr *llm.APIError
			g.Expect(errors.As(err, &apiErr)).To(BeTrue(), "%v", err)
			g.Expect(apiErr.Retryable).To(BeTrue())
			g.Expect(apiErr.RetryAfter).To(Equal(after))
		}
	}
	permanent := func(typ string) check {
		return func(g Gomega, err error) {
			var apiErr *llm.APIError
			g.Expect(errors.As(err, &apiErr)).To(BeTrue(), "%v", err)
			g.Expect(apiErr.Retryable).To(BeFalse())
			g.Expect(apiErr.Type).To(Equal(typ))
		}
	}
	contextLength := func(g Gomega, err error) {
		var cl *llm.ContextLengthError
		g.Expect(errors.As(err, &cl)).To(BeTrue(), "%v", err)
	}
	transport := func(g Gomega, err error) {
		var te *llm.TransportError
		g.Expect(errors.As(err, &te)).To(BeTrue(), "%v", err)
		g.Expect(llm.IsRetryable(err)).To(BeTrue())
	}
	for _, tc := range []struct {
		name   string
		answer fake.Answer
		check  check
	}{
		{"429 with Retry-After", fake.Answer{Status: 429, Header: map[string]string{"Retry-After": "2"},
			Body: `{"error":{"message":"Rate limit reached for gpt-4.1 on tokens per min (TPM)","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`},
			retryable(2 * time.Second)},
		{"Azure 429 with retry-after-ms", fake.Answer{Status: 429, Header: map[string]string{"retry-after-ms": "150", "retry-after": "1"},
			Body: `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current pricing tier. Please retry after 1 second."}}`},
			retryable(150 * time.Millisecond)},
		{"429 out of credit", fake.Answer{Status: 429,
			Body: `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`},
			permanent("insufficient_quota")},
		{"500", fake.Answer{Status: 500, Body: `{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}`},
			retryable(0)},
		{"503 without a JSON body", fake.Answer{Status: 503, Body: `upstream connect error`}, retryable(0)},
		{"context length", fake.Answer{Status: 400,
			Body: `{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`},
			contextLength},
		{"context length on vLLM", fake.Answer{Status: 400,
			Body: `{"object":"error","message":"This model's maximum context length is 32768 tokens. However, you requested 40000 tokens.","type":"BadRequestError","param":null,"code":400}`},
			func(g Gomega, err error) {
				contextLength(g, err)
				g.Expect(err.Error()).To(HaveSuffix("context length exceeded: This model's maximum context length is 32768 tokens. However, you requested 40000 tokens."))
			}},
		{"Ollama's plain error", fake.Answer{Status: 404, Body: `{"error":"model \"qwen3:8b\" not found, try pulling it first"}`},
			func(g Gomega, err error) {
				permanent("")(g, err)
				g.Expect(err.Error()).To(ContainSubstring("try pulling it first"))
			}},
		{"malformed JSON", fake.Answer{Status: 200, Body: `{"id": "chatcmpl-1", "choices": [`}, transport},
		{"truncated body", fake.Answer{Status: 200, Body: toolCallAnswer[:80], Truncate: true}, transport},
		{"no choices", fake.Answer{Status: 200, Body: `{"id":"x","choices":[]}`}, transport},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			srv := fake.NewServer(t, false)
			srv.Queue(tc.answer)
			c, err := openai.New(openai.Config{Flavor: openai.FlavorOpenAI, BaseURL: srv.URL + "/v1", Model: "gpt-4.1", APIKey: fake.Key})
			g.Expect(err).NotTo(HaveOccurred())
			_, err = c.Chat(context.Background(), fake.Conversation())
			g.Expect(err).To(HaveOccurred())
			tc.check(g, err)
			g.Expect(err.Error()).NotTo(ContainSubstring(fake.Key))
		})
	}
}

func TestRefusedKeyNeverShowsInTheError(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	// OpenAI echoes part of a wrong key; some proxies echo all of it.
	srv.Queue(fake.Answer{Status: 401, Body: `{"error":{"message":"Incorrect API key provided: ` + fake.Key + `. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`})
	c, err := openai.New(openai.Config{Flavor: openai.FlavorOpenAI, BaseURL: srv.URL, Model: "gpt-4.1", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.Chat(context.Background(), fake.Conversation())
	g.Expect(err).To(MatchError(ContainSubstring("HTTP 401 invalid_api_key")))
	g.Expect(err.Error()).NotTo(ContainSubstring(fake.Key[:10]))
}

func TestThrottledCallSucceedsAfterRetry(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(
		fake.Answer{Status: 429, Header: map[string]string{"retry-after-ms": "20"}, Body: `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`},
		fake.Answer{Status: 500, Body: `{"error":{"message":"oops","type":"server_error"}}`},
		fake.Answer{Status: 200, Body: toolCallAnswer},
	)
	c, err := openai.New(openai.Config{Flavor: openai.FlavorOpenAI, BaseURL: srv.URL, Model: "gpt-4.1", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	p := llm.WithRetry(c, llm.RetryPolicy{MaxRetries: 3, InitialDelay: time.Millisecond, Multiplier: 2, MaxDelay: 10 * time.Millisecond, Timeout: 10 * time.Second})
	resp, err := p.Chat(context.Background(), fake.Conversation())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.ToolCalls).To(HaveLen(1))
	g.Expect(srv.Requests()).To(HaveLen(3))
}

func TestConfigIsChecked(t *testing.T) {
	for name, cfg := range map[string]openai.Config{
		"azure without deployment": {Flavor: openai.FlavorAzure, BaseURL: "https://x.openai.azure.com", APIVersion: "2024-10-21"},
		"openai without model":     {Flavor: openai.FlavorOpenAI},
		"unknown flavor":           {Flavor: "bedrock", Model: "x"},
	} {
		_, err := openai.New(cfg)
		NewWithT(t).Expect(err).To(HaveOccurred(), name)
	}
}
