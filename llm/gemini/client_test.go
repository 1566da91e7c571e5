package gemini_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/gemini"
	"github.com/agent-smith/agent-smith/llm/internal/fake"
)

// functionCallAnswer is a generateContent answer with a functionCall part
// carrying a thought signature, as documented.
const functionCallAnswer = `{
  "candidates": [{
    "content": {"role": "model", "parts": [
      {"text": "thinking about it", "thought": true},
      {"text": "Running the tests."},
      {"functionCall": {"name": "run_command", "args": {"command": "go test ./..."}}, "thoughtSignature": "c2lnbmF0dXJl"}
    ]},
    "finishReason": "STOP", "index": 0
  }],
  "usageMetadata": {"promptTokenCount": 900, "candidatesTokenCount": 40, "thoughtsTokenCount": 60, "cachedContentTokenCount": 512, "totalTokenCount": 1000},
  "modelVersion": "gemini-2.5-pro"
}`

func TestGeminiSpeaksGenerateContentWithFunctionCalls(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, true)
	srv.Queue(fake.Answer{Status: 200, Body: functionCallAnswer})
	c, err := gemini.New(gemini.Config{Model: "gemini-2.5-pro", APIKey: fake.Key, HTTPClient: srv.RedirectingClient()})
	g.Expect(err).NotTo(HaveOccurred())

	resp, err := c.Chat(context.Background(), fake.Conversation())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Text).To(Equal("Running the tests."), "thought parts are not the answer")
	g.Expect(resp.ToolCalls).To(HaveLen(1))
	g.Expect(resp.ToolCalls[0].Name).To(Equal("run_command"))
	g.Expect(resp.ToolCalls[0].Arguments).To(MatchJSON(`{"command": "go test ./..."}`))
	g.Expect(resp.ToolCalls[0].Signature).To(Equal("c2lnbmF0dXJl"))
	g.Expect(resp.ToolCalls[0].ID).NotTo(BeEmpty(), "calls without an id get a local one")
	g.Expect(resp.StopReason).To(Equal(llm.StopToolUse))
	g.Expect(resp.Usage).To(Equal(llm.Usage{InputTokens: 900, OutputTokens: 100, CachedInputTokens: 512}))

	req := srv.Requests()[0]
	g.Expect(req.Path).To(Equal("/v1beta/models/gemini-2.5-pro:generateContent"))
	g.Expect(req.Header.Get("x-goog-api-key")).To(Equal(fake.Key))
	g.Expect(req.Query).NotTo(HaveKey("key"), "the key never goes into the URL")
	g.Expect(req.Raw).To(MatchJSON(`{
	  "systemInstruction": {"parts": [{"text": "You fix bugs."}]},
	  "contents": [
	    {"role": "user", "parts": [{"text": "Fix the failing test."}]},
	    {"role": "model", "parts": [
	      {"text": "Let me look."},
	      {"functionCall": {"id": "call_1", "name": "read_file", "args": {"path": "add.go"}}, "thoughtSignature": "sig-1"},
	      {"functionCall": {"id": "call_2", "name": "run_command", "args": {"command": "go test ./..."}}}]},
	    {"role": "user", "parts": [
	      {"functionResponse": {"id": "call_1", "name": "read_file", "response": {"output": "func Add(a, b int) int { return a - b }"}}},
	      {"functionResponse": {"id": "call_2", "name": "run_command", "response": {"error": "exit code 1"}}}]}
	  ],
	  "tools": [{"functionDeclarations": [
	    {"name": "read_file", "description": "Read a file.", "parametersJsonSchema": {"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}},
	    {"name": "finish", "description": "Finish.", "parametersJsonSchema": {"type":"object","properties":{"summary":{"type":"string"}}}}
	  ]}],
	  "generationConfig": {"maxOutputTokens": 4096}
	}`))
}

func TestGeminiSendsLocalCallIDsBackWithoutThem(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: functionCallAnswer})
	c, err := gemini.New(gemini.Config{BaseURL: srv.URL, Model: "models/gemini-2.5-flash", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	first, err := c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}})
	g.Expect(err).NotTo(HaveOccurred())
	call := first.ToolCalls[0]
	_, err = c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{
		llm.UserMessage("go"),
		{Role: llm.RoleAssistant, ToolCalls: first.ToolCalls},
		{Role: llm.RoleTool, ToolCallID: call.ID, ToolName: call.Name, Text: "ok"},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	second := srv.Requests()[1]
	g.Expect(second.Path).To(Equal("/v1beta/models/gemini-2.5-flash:generateContent"))
	g.Expect(second.Raw).To(MatchJSON(`{"contents": [
	  {"role": "user", "parts": [{"text": "go"}]},
	  {"role": "model", "parts": [{"functionCall": {"name": "run_command", "args": {"command": "go test ./..."}}, "thoughtSignature": "c2lnbmF0dXJl"}]},
	  {"role": "user", "parts": [{"functionResponse": {"name": "run_command", "response": {"output": "ok"}}}]}
	]}`))
}

func TestGeminiErrorsAreClassified(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    fake.Answer
		retryable bool
		after     time.Duration
		ctxLen    bool
	}{
		{"429 with RetryInfo", fake.Answer{Status: 429, Body: `{"error": {"code": 429, "message": "You exceeded your current quota.", "status": "RESOURCE_EXHAUSTED",
			"details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []}, {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}]}}`},
			true, 37 * time.Second, false},
		{"503", fake.Answer{Status: 503, Body: `{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}`},
			true, 0, false},
		{"context length", fake.Answer{Status: 400, Body: `{"error": {"code": 400, "message": "The input token count (1500000) exceeds the maximum number of tokens allowed (1048576).", "status": "INVALID_ARGUMENT"}}`},
			false, 0, true},
		{"bad key", fake.Answer{Status: 400, Body: `{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT"}}`},
			false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			srv := fake.NewServer(t, false)
			srv.Queue(tc.answer)
			c, err := gemini.New(gemini.Config{BaseURL: srv.URL, Model: "gemini-2.5-pro", APIKey: fake.Key})
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
}

func TestGeminiBlockedPromptIsARefusal(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: `{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 10, "totalTokenCount": 10}}`})
	c, err := gemini.New(gemini.Config{BaseURL: srv.URL, Model: "gemini-2.5-pro", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	resp, err := c.Chat(context.Background(), fake.Conversation())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.StopReason).To(Equal(llm.StopRefusal))
	g.Expect(resp.Usage.InputTokens).To(Equal(10))
}

func TestGeminiMalformedAnswerIsRetryable(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: functionCallAnswer[:120], Truncate: true})
	c, err := gemini.New(gemini.Config{BaseURL: srv.URL, Model: "gemini-2.5-pro", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.Chat(context.Background(), fake.Conversation())
	g.Expect(llm.IsRetryable(err)).To(BeTrue(), "%v", err)
}

func TestGeminiFunctionCallAndResponseMatchTheDocumentedShapes(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "function_call.json")})
	c, err := gemini.New(gemini.Config{BaseURL: srv.URL, Model: "gemini-3.8-flash", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	tools := []llm.ToolDef{{Name: "read_file", Description: "Read a file.", Parameters: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`)}}
	task := llm.UserMessage("Fix the failing test.")
	first, err := c.Chat(context.Background(), &llm.Request{System: "You fix bugs.", Messages: []llm.Message{task}, Tools: tools, MaxOutputTokens: 16000})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.Text).To(Equal("Reading the file."))
	g.Expect(first.StopReason).To(Equal(llm.StopToolUse))
	// Thinking is billed as output; the cached part of the prompt is known.
	g.Expect(first.Usage).To(Equal(llm.Usage{InputTokens: 4321, OutputTokens: 155, CachedInputTokens: 4096}))
	call := first.ToolCalls[0]
	_, err = c.Chat(context.Background(), &llm.Request{System: "You fix bugs.", Tools: tools, MaxOutputTokens: 16000, Messages: []llm.Message{
		task,
		{Role: llm.RoleAssistant, Text: first.Text, ToolCalls: first.ToolCalls},
		{Role: llm.RoleTool, ToolCallID: call.ID, ToolName: call.Name, Text: "func Add(a, b int) int { return a - b }"},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Requests()[1].Raw).To(MatchJSON(fake.Fixture(t, "function_response_request.json")))
}

func TestGeminiUnusableToolCallsArriveAsHTTP200AndMapToABadToolCall(t *testing.T) {
	for fixture, detail := range map[string]string{
		"malformed_function_call.json": `MALFORMED_FUNCTION_CALL: Malformed function call: print(default_api.read_file(path="add.go"`,
		"unexpected_tool_call.json":    "UNEXPECTED_TOOL_CALL",
		"too_many_tool_calls.json":     "TOO_MANY_TOOL_CALLS: The model made too many tool calls in one turn.",
	} {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, fixture)})
		c, err := gemini.New(gemini.Config{BaseURL: srv.URL, Model: "gemini-3.8-flash", APIKey: fake.Key})
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := c.Chat(context.Background(), fake.Conversation())
		g.Expect(err).NotTo(HaveOccurred(), fixture)
		g.Expect(resp.StopReason).To(Equal(llm.StopBadToolCall), fixture)
		g.Expect(resp.StopDetail).To(Equal(detail), fixture)
		g.Expect(resp.ToolCalls).To(BeEmpty(), fixture)
		g.Expect(resp.Usage.InputTokens).To(BeNumerically(">", 0), "the failed turn is billed")
	}
}

func TestGeminiMalformedCallIsRetriedOnceByTheLoopThenSucceeds(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(
		fake.Answer{Status: 200, Body: fake.Fixture(t, "malformed_function_call.json")},
		fake.Answer{Status: 200, Body: `{"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "finish", "args": {"summary": "fixed"}}}]}, "finishReason": "STOP", "index": 0}],
		  "usageMetadata": {"promptTokenCount": 2700, "candidatesTokenCount": 12, "totalTokenCount": 2712}, "modelVersion": "gemini-3.8-flash"}`},
	)
	c, err := gemini.New(gemini.Config{BaseURL: srv.URL, Model: "gemini-3.8-flash", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	m := &llm.Model{Provider: c, Name: "gemini-3.8-flash", ContextWindow: 1_000_000, MaxOutputTokens: 8000}
	res, err := (&llm.Loop{Model: m}).Run(context.Background(), llm.LoopRequest{Prompt: "Fix the failing test."})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopFinished))
	second := srv.Requests()[1].Body["contents"].([]any)
	g.Expect(second).To(HaveLen(1), "the correction joins the user's turn")
	parts := second[0].(map[string]any)["parts"].([]any)
	g.Expect(parts[1]).To(HaveKeyWithValue("text", ContainSubstring("could not be used (MALFORMED_FUNCTION_CALL")))
}

func TestGeminiMissingThoughtSignatureFailsTheCall(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "missing_thought_signature.json")})
	c, err := gemini.New(gemini.Config{BaseURL: srv.URL, Model: "gemini-3.8-flash", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.Chat(context.Background(), fake.Conversation())
	g.Expect(err).To(MatchError(ContainSubstring("MISSING_THOUGHT_SIGNATURE")))
	g.Expect(llm.IsRetryable(err)).To(BeFalse())
}

func TestGeminiErrorFixturesAreClassified(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 400, Body: fake.Fixture(t, "error_context_length.json")},
		fake.Answer{Status: 429, Body: fake.Fixture(t, "error_resource_exhausted.json")})
	c, err := gemini.New(gemini.Config{BaseURL: srv.URL, Model: "gemini-3.8-flash", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.Chat(context.Background(), fake.Conversation())
	var cl *llm.ContextLengthError
	g.Expect(errors.As(err, &cl)).To(BeTrue(), "%v", err)
	_, err = c.Chat(context.Background(), fake.Conversation())
	var apiErr *llm.APIError
	g.Expect(errors.As(err, &apiErr)).To(BeTrue(), "%v", err)
	g.Expect(apiErr.Retryable).To(BeTrue())
	g.Expect(apiErr.RetryAfter).To(Equal(37 * time.Second))
}

func TestGeminiClampsMaxOutputTokensToTheModelsCap(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "function_call.json")})
	c, err := gemini.New(gemini.Config{BaseURL: srv.URL, Model: "gemini-3.8-flash", APIKey: fake.Key})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}, MaxOutputTokens: 128000})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Requests()[0].Body["generationConfig"]).To(HaveKeyWithValue("maxOutputTokens", BeNumerically("==", 65536)))
}
