package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/internal/fake"
	"github.com/agent-smith/agent-smith/llm/openai"
)

var readFile = []llm.ToolDef{{Name: "read_file", Description: "Read a file.",
	Parameters: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`)}}

func TestToolCallAndToolResultMatchTheDocumentedShapes(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, true)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "tool_calls.json")})
	c, err := openai.New(openai.Config{Flavor: openai.FlavorOpenAI, Model: "gpt-6-luna", APIKey: fake.Key, HTTPClient: srv.RedirectingClient()})
	g.Expect(err).NotTo(HaveOccurred())
	task := llm.UserMessage("Fix the failing test.")
	first, err := c.Chat(context.Background(), &llm.Request{System: "You fix bugs.", Messages: []llm.Message{task}, Tools: readFile, MaxOutputTokens: 16000})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.StopReason).To(Equal(llm.StopToolUse))
	g.Expect(first.Usage).To(Equal(llm.Usage{InputTokens: 2006, OutputTokens: 300, CachedInputTokens: 1920}))
	call := first.ToolCalls[0]
	_, err = c.Chat(context.Background(), &llm.Request{System: "You fix bugs.", Tools: readFile, MaxOutputTokens: 16000, Messages: []llm.Message{
		task,
		{Role: llm.RoleAssistant, ToolCalls: first.ToolCalls},
		{Role: llm.RoleTool, ToolCallID: call.ID, ToolName: call.Name, Text: "func Add(a, b int) int { return a - b }"},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Requests()[1].Raw).To(MatchJSON(fake.Fixture(t, "tool_result_request.json")))
}

// openAIClient talks to the fake as if it were api.openai.com.
func openAIClient(t *testing.T, srv *fake.Server, cfg openai.Config) *openai.Client {
	t.Helper()
	cfg.Flavor, cfg.APIKey, cfg.HTTPClient = openai.FlavorOpenAI, fake.Key, srv.RedirectingClient()
	c, err := openai.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReasoningModelsGetTheEffortTheyCallToolsWith(t *testing.T) {
	for _, tc := range []struct {
		name   string
		model  string
		effort string
		tools  bool
		want   any // the reasoning_effort sent; nil when none is
	}{
		{"tools on a model that calls them only without reasoning", "gpt-6-luna", "high", true, "none"},
		{"no tools: the configured effort", "gpt-6-luna", "high", false, "high"},
		{"o-series with tools keeps the effort", "o4-mini", "low", true, "low"},
		{"no effort configured", "o4-mini", "", true, nil},
		{"not a reasoning model", "gpt-4.1", "", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			srv := fake.NewServer(t, true)
			srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "tool_calls.json")})
			c := openAIClient(t, srv, openai.Config{Model: tc.model, ReasoningEffort: tc.effort})
			req := &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}}
			if tc.tools {
				req.Tools = readFile
			}
			_, err := c.Chat(context.Background(), req)
			g.Expect(err).NotTo(HaveOccurred())
			if tc.want == nil {
				g.Expect(srv.Requests()[0].Body).NotTo(HaveKey("reasoning_effort"))
				return
			}
			g.Expect(srv.Requests()[0].Body).To(HaveKeyWithValue("reasoning_effort", tc.want))
		})
	}
}

func TestAnEffortTheModelDoesNotTakeIsRefusedAtTheStart(t *testing.T) {
	_, err := openai.New(openai.Config{Flavor: openai.FlavorOpenAI, Model: "o3", ReasoningEffort: "max"})
	NewWithT(t).Expect(err).To(MatchError(`openai: reasoning effort "max" is not one o3 takes (low, medium, high)`))
	_, err = openai.New(openai.Config{Flavor: openai.FlavorOpenAI, Model: "gpt-4.1", ReasoningEffort: "low"})
	NewWithT(t).Expect(err).To(MatchError(`openai: reasoning effort "low": gpt-4.1 is not a reasoning model`))
}

func TestAModelWithoutChatCompletionsToolsIsRefusedBeforeTheCall(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, true)
	c := openAIClient(t, srv, openai.Config{Model: "gpt-6.2-astra"})
	_, err := c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}, Tools: readFile})
	g.Expect(err).To(MatchError("openai: gpt-6.2-astra calls no tools over Chat Completions, and this request needs them"))
	g.Expect(srv.Requests()).To(BeEmpty())
}

func TestMaxCompletionTokensIsClampedToTheModelsCap(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, true)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "tool_calls.json")})
	c := openAIClient(t, srv, openai.Config{Model: "gpt-4o-2024-08-06"})
	_, err := c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}, MaxOutputTokens: 32000})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Requests()[0].Body).To(HaveKeyWithValue("max_completion_tokens", BeNumerically("==", 16384)))
}

func TestDocumentedErrorsAreClassified(t *testing.T) {
	contextLength := func(g Gomega, err error) {
		var cl *llm.ContextLengthError
		g.Expect(errors.As(err, &cl)).To(BeTrue(), "%v", err)
	}
	permanent := func(typ, text string) func(Gomega, error) {
		return func(g Gomega, err error) {
			var apiErr *llm.APIError
			g.Expect(errors.As(err, &apiErr)).To(BeTrue(), "%v", err)
			g.Expect(apiErr.Retryable).To(BeFalse())
			g.Expect(apiErr.Type).To(Equal(typ))
			g.Expect(apiErr.Message).To(ContainSubstring(text))
		}
	}
	for _, tc := range []struct {
		fixture string
		status  int
		check   func(Gomega, error)
	}{
		{"error_context_length.json", 400, contextLength},
		{"error_context_window.json", 400, contextLength},
		{"error_tools_with_reasoning_effort.json", 400, permanent("invalid_request_error", "set reasoning_effort to 'none'")},
		{"error_azure_api_version.json", 400, permanent("BadRequest", "enabled only for api versions 2024-12-01-preview and later")},
		{"error_azure_content_filter.json", 400, permanent("content_filter", "content management policy")},
		{"error_insufficient_quota.json", 429, permanent("insufficient_quota", "exceeded your current quota")},
	} {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		srv.Queue(fake.Answer{Status: tc.status, Body: fake.Fixture(t, tc.fixture)})
		c, err := openai.New(openai.Config{Flavor: openai.FlavorAzure, BaseURL: srv.URL, Deployment: "o3-mini", APIVersion: "v1", APIKey: fake.Key})
		g.Expect(err).NotTo(HaveOccurred())
		_, err = c.Chat(context.Background(), fake.Conversation())
		g.Expect(err).To(HaveOccurred(), tc.fixture)
		tc.check(g, err)
	}
}
