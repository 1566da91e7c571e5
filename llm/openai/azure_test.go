package openai_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/internal/fake"
	"github.com/agent-smith/agent-smith/llm/openai"
)

func TestValidateAzureNamesTheVersionAModelNeeds(t *testing.T) {
	for _, tc := range []struct {
		model, version string
		err            string // "" when valid
	}{
		{"o3", "2024-10-21", "o3 needs api_version 2025-04-01-preview or later (or v1); 2024-10-21 cannot serve it"},
		{"o3", "2025-04-01-preview", ""},
		{"o3", "v1", ""},
		{"o1", "2024-10-21", "o1 needs api_version 2024-12-01-preview or later"},
		{"o1", "2024-12-01-preview", ""},
		{"o1", "2024-12-01", ""},
		{"o3-mini", "2025-01-01-preview", ""},
		{"gpt-5-mini", "2025-03-01-preview", "gpt-5-mini needs api_version 2025-04-01-preview"},
		{"gpt-4.1", "2024-06-01", ""},
		{"my-deployment", "2024-06-01", ""},
		{"gpt-4.1", "2024-13", `api_version "2024-13" is neither "v1" nor a dated version`},
		{"gpt-4.1", "latest", `api_version "latest" is neither`},
	} {
		err := openai.ValidateAzure(tc.model, tc.version)
		if tc.err == "" {
			NewWithT(t).Expect(err).NotTo(HaveOccurred(), "%s %s", tc.model, tc.version)
			continue
		}
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.err)), "%s %s", tc.model, tc.version)
	}
	NewWithT(t).Expect(openai.ValidateAzure("o4-mini", openai.DefaultAzureAPIVersion)).To(Succeed(), "the default serves o-series")
}

func TestAnOSeriesDeploymentOnAnOldVersionIsRefusedAtTheStart(t *testing.T) {
	g := NewWithT(t)
	_, err := openai.New(openai.Config{Flavor: openai.FlavorAzure, BaseURL: "https://x.openai.azure.com", Deployment: "reasoner",
		Model: "o4-mini", APIVersion: "2024-10-21"})
	g.Expect(err).To(MatchError(ContainSubstring("azure_openai deployment reasoner: o4-mini needs api_version 2025-04-01-preview or later (or v1)")))
	_, err = openai.New(openai.Config{Flavor: openai.FlavorAzure, BaseURL: "https://x.openai.azure.com", Deployment: "o1", APIVersion: "2024-10-21"})
	g.Expect(err).To(MatchError(ContainSubstring("o1 needs api_version 2024-12-01-preview")), "without a model the deployment's name is looked up")
}

func TestAzureV1RouteSendsTheDeploymentAsTheModelWithoutAVersion(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "tool_calls.json")})
	c, err := openai.New(openai.Config{Flavor: openai.FlavorAzure, BaseURL: srv.URL, Deployment: "prod-reasoner", Model: "o4-mini",
		APIVersion: openai.AzureV1, APIKey: fake.Key, ReasoningEffort: "high"})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}, Tools: readFile, MaxOutputTokens: 200000})
	g.Expect(err).NotTo(HaveOccurred())
	req := srv.Requests()[0]
	g.Expect(req.Path).To(Equal("/openai/v1/chat/completions"))
	g.Expect(req.Query).NotTo(HaveKey("api-version"))
	g.Expect(req.Header.Get("api-key")).To(Equal(fake.Key))
	g.Expect(req.Body).To(HaveKeyWithValue("model", "prod-reasoner"))
	g.Expect(req.Body).To(HaveKeyWithValue("max_completion_tokens", BeNumerically("==", 100000)), "clamped to o4-mini's cap")
	g.Expect(req.Body).To(HaveKeyWithValue("reasoning_effort", "high"))
}

func TestAzureVersionsBeforeMaxCompletionTokensGetMaxTokens(t *testing.T) {
	for version, key := range map[string]string{
		"2024-06-01":         "max_tokens",
		"2024-08-01-preview": "max_tokens",
		"2024-10-21":         "max_completion_tokens",
		"2025-04-01-preview": "max_completion_tokens",
	} {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		srv.Queue(fake.Answer{Status: 200, Body: fake.Fixture(t, "tool_calls.json")})
		c, err := openai.New(openai.Config{Flavor: openai.FlavorAzure, BaseURL: srv.URL, Deployment: "gpt-4o", APIVersion: version, APIKey: fake.Key})
		g.Expect(err).NotTo(HaveOccurred())
		_, err = c.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("go")}, MaxOutputTokens: 1000})
		g.Expect(err).NotTo(HaveOccurred())
		body := srv.Requests()[0].Body
		g.Expect(body).To(HaveKeyWithValue(key, BeNumerically("==", 1000)), version)
		g.Expect(body).To(HaveLen(2), "%s: messages and one cap", version)
		g.Expect(srv.Requests()[0].Query["api-version"]).To(Equal([]string{version}))
	}
}
