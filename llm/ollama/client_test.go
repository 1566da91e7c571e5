package ollama_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/internal/fake"
	"github.com/agent-smith/agent-smith/llm/ollama"
)

var readFile = []llm.ToolDef{{Name: "read_file", Description: "Read a file.",
	Parameters: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`)}}

func newClient(t *testing.T, srv *fake.Server, window int) *ollama.Client {
	t.Helper()
	// Configs written for the OpenAI-compatible endpoint name .../v1.
	c, err := ollama.New(ollama.Config{BaseURL: srv.URL + "/v1", Model: "qwen3:8b", ContextWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTheNativeChatCarriesTheContextSizeAndToolCalls(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "show.json")}, fake.Answer{Status: 200, Body: fake.Fixture(t, "chat_tool_call.json")})
	c := newClient(t, srv, 32768)
	task := llm.UserMessage("Fix the failing test.")
	first, err := c.Chat(context.Background(), &llm.Request{System: "You fix bugs.", Messages: []llm.Message{task}, Tools: readFile, MaxOutputTokens: 4096})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.Text).To(BeEmpty(), "thinking is not the answer")
	g.Expect(first.StopReason).To(Equal(llm.StopToolUse))
	g.Expect(first.Usage).To(Equal(llm.Usage{InputTokens: 122, OutputTokens: 33}))
	g.Expect(first.ToolCalls).To(HaveLen(1))
	g.Expect(first.ToolCalls[0].ID).NotTo(BeEmpty(), "calls without an id get a local one")
	g.Expect(first.ToolCalls[0].Arguments).To(MatchJSON(`{"path": "add.go"}`))

	call := first.ToolCalls[0]
	_, err = c.Chat(context.Background(), &llm.Request{System: "You fix bugs.", Tools: readFile, MaxOutputTokens: 4096, Messages: []llm.Message{
		task,
		{Role: llm.RoleAssistant, ToolCalls: first.ToolCalls},
		{Role: llm.RoleTool, ToolCallID: call.ID, ToolName: call.Name, Text: "func Add(a, b int) int { return a - b }"},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	reqs := srv.Requests()
	g.Expect(reqs).To(HaveLen(3), "the model is shown once")
	g.Expect(reqs[0].Path).To(Equal("/api/show"))
	g.Expect(reqs[0].Raw).To(MatchJSON(`{"model": "qwen3:8b"}`))
	g.Expect(reqs[1].Path).To(Equal("/api/chat"))
	g.Expect(reqs[1].Body["options"]).To(HaveKeyWithValue("num_ctx", BeNumerically("==", 32768)))
	g.Expect(reqs[2].Raw).To(MatchJSON(fake.Fixture(t, "chat_tool_result_request.json")))
}

func TestAWindowLargerThanTheModelsIsRefusedBeforeAnyChat(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "show.json")})
	c := newClient(t, srv, 131072)
	for range 2 {
		_, err := c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}})
		g.Expect(err).To(MatchError("ollama: context_window 131072 is more than the 40960 tokens qwen3:8b holds (model_info qwen3.context_length)"))
		g.Expect(llm.IsRetryable(err)).To(BeFalse())
	}
	g.Expect(srv.Requests()).To(HaveLen(1), "only the show; the refusal is remembered")
}

func TestWithoutAConfiguredWindowTheModelsOwnLengthIsSent(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "show.json")}, fake.Answer{Status: 200, Body: fake.Fixture(t, "chat_tool_call.json")})
	c := newClient(t, srv, 0)
	info, err := c.Check(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info).To(Equal(ollama.ModelInfo{Architecture: "qwen3", ContextLength: 40960, Capabilities: []string{"completion", "tools", "thinking"}}))
	g.Expect(info.Tools()).To(BeTrue())
	_, err = c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}, JSON: true})
	g.Expect(err).NotTo(HaveOccurred())
	chat := srv.Requests()[1]
	g.Expect(chat.Body["options"]).To(HaveKeyWithValue("num_ctx", BeNumerically("==", 40960)))
	g.Expect(chat.Body).To(HaveKeyWithValue("format", "json"))
	g.Expect(chat.Body).To(HaveKeyWithValue("stream", false))
}

func TestAServerThatDidNotAnswerIsAskedAgain(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 503, Body: `{"error": "server busy"}`},
		fake.Answer{Status: 200, Body: fake.Fixture(t, "show.json")}, fake.Answer{Status: 200, Body: fake.Fixture(t, "chat_tool_call.json")})
	c := newClient(t, srv, 8192)
	_, err := c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}})
	g.Expect(llm.IsRetryable(err)).To(BeTrue(), "%v", err)
	_, err = c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}})
	g.Expect(err).NotTo(HaveOccurred())
}

func TestOllamaErrorsAndStopsAreClassified(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		status  int
		text    string
	}{
		{"error_model_not_found.json", 404, "model 'qwen3:8b' not found"},
		{"error_no_tools.json", 400, "does not support tools"},
	} {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "show.json")}, fake.Answer{Status: tc.status, Body: fake.Fixture(t, tc.fixture)})
		c := newClient(t, srv, 8192)
		_, err := c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}, Tools: readFile})
		var apiErr *llm.APIError
		g.Expect(errors.As(err, &apiErr)).To(BeTrue(), "%v", err)
		g.Expect(apiErr.Retryable).To(BeFalse())
		g.Expect(apiErr.Message).To(ContainSubstring(tc.text))
	}

	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "show.json")}, fake.Answer{Status: 200, Body: fake.Fixture(t, "chat_length.json")})
	resp, err := newClient(t, srv, 8192).Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.StopReason).To(Equal(llm.StopMaxTokens))
}

func TestAShowWithoutAContextLengthIsAnError(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: `{"model_info": {"general.architecture": "llama"}, "capabilities": ["completion"]}`})
	_, err := newClient(t, srv, 8192).Check(context.Background())
	g.Expect(err).To(MatchError(ContainSubstring("no llama.context_length in model_info")))
}
