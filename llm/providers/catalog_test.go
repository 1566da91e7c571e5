package providers_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/internal/fake"
	"github.com/agent-smith/agent-smith/llm/providers"
)

// lineOf is the 1-based line of the config document of agents that holds
// mark.
func lineOf(t *testing.T, agents, mark string) int {
	t.Helper()
	for i, line := range strings.Split(configDoc(agents), "\n") {
		if strings.Contains(line, mark) {
			return i + 1
		}
	}
	t.Fatalf("no line holds %q", mark)
	return 0
}

// Each case is an agent `main` the catalog refuses: the error is at path,
// on the line marked "# <-", and says msg.
func TestTheCatalogRefusesASlotItsModelCannotServeAtTheKeyAtFault(t *testing.T) {
	for _, tc := range []struct {
		name, agent, path, msg string
	}{
		{"a dated api_version too old for a slot's model", `    type: azure_openai
    endpoint: https://oai.example.com
    deployment: gpt-4.1
    api_version: 2024-10-21 # <-
    models:
      planning: {model: o4-mini}
`, "api_version", "o4-mini needs api_version 2025-04-01-preview or later (or v1); 2024-10-21 cannot serve it"},
		{"a window above the model's", `    type: openai
    model: o4-mini
    context_window: 300000 # <-
`, "context_window", "context_window 300000 is more than the 200000 tokens o4-mini holds (catalog: https://platform.openai.com/docs/models, read 2026-12-05)"},
		{"a slot's output cap above its model's", `    type: openai
    model: o4-mini
    models:
      execution:
        model: gpt-4.1
        max_output_tokens: 64000 # <-
`, "models.execution.max_output_tokens", "max_output_tokens 64000 is more than the 32768 tokens gpt-4.1 writes at most"},
		{"the agent's output cap above one slot's model", `    type: openai
    model: o4-mini
    max_output_tokens: 64000 # <-
    models:
      summarization: {model: gpt-4o-mini}
`, "max_output_tokens", "max_output_tokens 64000 is more than the 16384 tokens gpt-4o-mini writes at most"},
		{"an override's output cap below the configured one", `    type: gemini
    model: gemini-9-ultra
    max_output_tokens: 40000 # <-
    catalog:
      gemini-9-ultra: {context_window: 500000, max_output_tokens: 30000}
`, "max_output_tokens", "max_output_tokens 40000 is more than the 30000 tokens gemini-9-ultra writes at most (the agent's catalog override)"},
		{"the execution slot on a model without Chat Completions tools", `    type: openai
    model: gpt-6.2-sol # <-
`, "model", "gpt-6.2-sol cannot call tools over the API agent-smith uses for it"},
		{"a slot's own model without tools", `    type: openai
    model: gpt-4.1
    models:
      execution: {model: gpt-6.2-sol} # <-
`, "models.execution.model", "gpt-6.2-sol cannot call tools"},
		{"an effort the slot's model does not take", `    type: openai
    model: gpt-4.1
    models:
      planning:
        model: o3
        reasoning_effort: max # <-
`, "models.planning.reasoning_effort", `reasoning effort "max" is not one o3 takes (low, medium, high)`},
		{"an effort for a model that does not reason", `    type: openai
    model: gpt-4.1
    reasoning_effort: high # <-
`, "reasoning_effort", `reasoning effort "high": gpt-4.1 is not a reasoning model`},
		{"an effort for a client without one", `    type: anthropic
    model: claude-opus-5
    reasoning_effort: high # <-
`, "reasoning_effort", "only applies to azure_openai and openai agents"},
		{"an effort on Ollama", `    type: ollama
    model: qwen3:8b
    models:
      planning: {reasoning_effort: low} # <-
`, "models.planning.reasoning_effort", "only applies to azure_openai and openai agents"},
		{"a negative figure in an override", `    type: openai
    model: gpt-4.1
    catalog:
      gpt-4.1:
        max_output_tokens: -1 # <-
`, `catalog["gpt-4.1"].max_output_tokens`, "must not be negative"},
		{"a negative price in an override", `    type: openai
    model: gpt-4.1
    catalog:
      gpt-4.1: {output_per_million: -2} # <-
`, `catalog["gpt-4.1"].output_per_million`, "prices must not be negative"},
		{"a misspelt override key", `    type: openai
    model: gpt-4.1
    catalog:
      gpt-4.1:
        contex_window: 100000 # <-
`, `catalog["gpt-4.1"].contex_window`, `unknown key (did you mean "context_window"?)`},
		{"an override on a type without a catalog", `    type: scripted
    script: replay.yaml
    catalog: # <-
      gpt-4.1: {context_window: 1000}
`, "catalog", "only applies to anthropic and azure_openai and gemini and ollama and openai agents"},
		{"a window of 0", `    type: openai
    model: gpt-4.1
    context_window: 0 # <-
`, "context_window", "must be greater than 0, got 0"},
		{"an output cap that fills the window", `    type: openai
    model: gpt-4.1
    context_window: 16000
    max_output_tokens: 16000 # <-
`, "max_output_tokens", "16000 leaves no room for input in context_window 16000"},
		{"a negative cache write price", `    type: openai
    model: gpt-4.1
    pricing:
      gpt-4.1: {input_per_million: 2, output_per_million: 8, cache_write_per_million: -1} # <-
`, `pricing["gpt-4.1"]`, "prices must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agents := "  main:\n" + tc.agent
			_, err := parseConfig(agents)
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want config.Errors, got %v", err)
			}
			want := lineOf(t, agents, "# <-")
			for _, e := range errs {
				if e.Path == "agents.main."+tc.path && e.Line == want && strings.Contains(e.Message, tc.msg) {
					return
				}
			}
			t.Errorf("no error at agents.main.%s line %d containing %q; got:\n%v", tc.path, want, tc.msg, errs)
		})
	}
}

// A model the catalog cannot vouch for loads, with a warning at the key
// that names it.
func TestUnknownModelsLoadWithAWarningWhereTheyAreNamed(t *testing.T) {
	for _, tc := range []struct {
		name, agent, path, msg string
	}{
		{"an unknown model, once for every slot using it", `    type: openai
    model: my-finetune # <-
`, "model", `model "my-finetune" is not in the catalog: its context window, output cap and price are unknown; set them in the agent's catalog.my-finetune entry`},
		{"an unknown slot model", `    type: openai
    model: gpt-4.1
    models:
      planning: {model: my-planner} # <-
`, "models.planning.model", `model "my-planner" is not in the catalog`},
		{"an unknown model the pricing table prices", `    type: anthropic
    model: claude-sonnet-4 # <-
    pricing:
      claude-sonnet-4: {input_per_million: 3, output_per_million: 15}
`, "model", `model "claude-sonnet-4" has no known context window or output cap`},
		{"an unknown model the override gives limits only", `    type: gemini
    model: gemini-9-ultra # <-
    catalog:
      gemini-9-ultra: {context_window: 500000, max_output_tokens: 30000}
`, "model", `model "gemini-9-ultra" has no known price: its calls count tokens but no money`},
		{"an override no slot uses", `    type: openai
    model: gpt-4.1
    catalog:
      gpt-4o: {input_per_million: 2} # <-
`, "catalog.gpt-4o", "no model slot of the agent uses gpt-4o, so this override applies to nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			agents := "  main:\n" + tc.agent
			cfg, err := parseConfig(agents)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cfg.Warnings).To(HaveLen(1))
			w := cfg.Warnings[0]
			g.Expect(w.Path).To(Equal("agents.main." + tc.path))
			g.Expect(w.Line).To(Equal(lineOf(t, agents, "# <-")))
			g.Expect(w.Message).To(ContainSubstring(tc.msg))
		})
	}
}

func TestAModelTheOverrideCompletesHasNoWarning(t *testing.T) {
	cfg := loadConfig(t, `  main:
    type: gemini
    model: gemini-9-ultra
    catalog:
      gemini-9-ultra: {context_window: 500000, max_output_tokens: 30000, input_per_million: 1, output_per_million: 4}
`)
	NewWithT(t).Expect(cfg.Warnings).To(BeEmpty())
}

// config validate prints the catalog's view of every slot; slots with the
// same view share a line.
func TestTheSummaryShowsTheCatalogsViewOfEachSlot(t *testing.T) {
	cfg := loadConfig(t, `  main:
    type: azure_openai
    endpoint: https://oai.example.com
    deployment: gpt-4.1
    context_window: 128000
    models:
      planning: {model: o4-mini, max_output_tokens: 32000, reasoning_effort: high}
      summarization: {deployment: gpt-4.1-mini}
    pricing:
      gpt-4.1: {input_per_million: 2.5, output_per_million: 9, cached_input_per_million: 0.5}
  claude:
    type: anthropic
    model: claude-haiku-4-5
  local:
    type: ollama
    model: qwen3:8b
  custom:
    type: openai
    model: my-finetune
    api_key_secret: ""
    endpoint: http://vllm.internal:8000/v1
`)
	var out strings.Builder
	cfg.WriteSummary(&out)
	for _, want := range []string{
		"  main    azure_openai gpt-4.1 (deployment gpt-4.1)\n" +
			"          planning           o4-mini (deployment o4-mini), effort high: context 128000 (config), output cap 32000 of 100000, $1.10 in / $4.40 out / $0.275 cached per Mtok [catalog, read 2026-12-05]\n" +
			"          execution, review  gpt-4.1 (deployment gpt-4.1): context 128000 (config), output cap 16000 of 32768, $2.50 in / $9.00 out / $0.50 cached per Mtok (config) [catalog, read 2026-12-05]\n" +
			"          summarization      gpt-4.1-mini (deployment gpt-4.1-mini): context 128000 (config), output cap 16000 of 32768, $0.40 in / $1.60 out / $0.10 cached per Mtok [catalog, read 2026-12-05]\n",
		"  claude  anthropic    claude-haiku-4-5\n" +
			"          all slots  claude-haiku-4-5: context 200000 (catalog), output cap 16000 of 64000, $1.00 in / $5.00 out / $0.10 cached / $1.25 cache write per Mtok [catalog, read 2026-12-05]\n",
		"          all slots  my-finetune: context 128000 (fallback), output cap 16000, no price known\n",
		"          all slots  qwen3:8b: context from the server at start, output cap 16000, local: no price\n",
	} {
		NewWithT(t).Expect(out.String()).To(ContainSubstring(want))
	}
}

func TestModelsTakeTheirLimitsAndPricesFromTheConfigThenTheCatalog(t *testing.T) {
	for _, tc := range []struct {
		name, agent string
		slot        llm.Slot
		model       string
		window, out int
		price       llm.Price
	}{
		{"catalog limits, default cap, cache writes priced", "    type: anthropic\n    model: claude-haiku-4-5\n", llm.SlotExecution, "claude-haiku-4-5",
			200_000, 16000, llm.Price{InputPerMillion: 1, OutputPerMillion: 5, CachedInputPerMillion: 0.10, CacheWritePerMillion: 1.25, Known: true}},
		{"the model's input bound narrows the window", "    type: openai\n    model: gpt-5\n", llm.SlotExecution, "gpt-5",
			272_000 + 16000, 16000, llm.Price{InputPerMillion: 1.25, OutputPerMillion: 10, CachedInputPerMillion: 0.125, Known: true}},
		{"long-context tiers", "    type: openai\n    model: gpt-4.1\n    models:\n      planning: {model: gpt-6.2-sol}\n", llm.SlotPlanning, "gpt-6.2-sol",
			1_050_000, 16000, llm.Price{InputPerMillion: 2, OutputPerMillion: 10, CachedInputPerMillion: 0.10, CacheWritePerMillion: 2.50, Known: true,
				LongAbove: 272_000, Long: &llm.Price{InputPerMillion: 4, OutputPerMillion: 15, CachedInputPerMillion: 0.20, CacheWritePerMillion: 5, Known: true}}},
		{"the config's limits", "    type: openai\n    model: gpt-4.1\n    context_window: 64000\n    max_output_tokens: 20000\n", llm.SlotExecution, "gpt-4.1",
			64000, 20000, llm.Price{InputPerMillion: 2, OutputPerMillion: 8, CachedInputPerMillion: 0.50, Known: true}},
		{"an override corrects cap and price", "    type: openai\n    model: gpt-4.1\n    catalog:\n      gpt-4.1: {max_output_tokens: 8000, input_per_million: 1.5}\n",
			llm.SlotExecution, "gpt-4.1", 1_047_576, 8000, llm.Price{InputPerMillion: 1.5, OutputPerMillion: 8, CachedInputPerMillion: 0.50, Known: true}},
		{"the pricing table wins over the catalog", "    type: openai\n    model: gpt-4.1-2025-04-14\n    pricing:\n      gpt-4.1: {input_per_million: 3, output_per_million: 12}\n",
			llm.SlotExecution, "gpt-4.1-2025-04-14", 1_047_576, 16000, llm.Price{InputPerMillion: 3, OutputPerMillion: 12, Known: true}},
		{"an unknown model: fallbacks, no price", "    type: gemini\n    model: gemini-9-ultra\n", llm.SlotExecution, "gemini-9-ultra",
			128_000, 16000, llm.Price{}},
		{"an unknown model the override describes", "    type: gemini\n    model: gemini-9-ultra\n    catalog:\n      gemini-9-ultra: {context_window: 500000, max_output_tokens: 30000, input_per_million: 1, output_per_million: 4}\n",
			llm.SlotExecution, "gemini-9-ultra", 500_000, 16000, llm.Price{InputPerMillion: 1, OutputPerMillion: 4, Known: true}},
		{"Azure: the model is the deployment's when not given", "    type: azure_openai\n    endpoint: https://oai.example.com\n    deployment: gpt-4.1-mini\n",
			llm.SlotExecution, "gpt-4.1-mini", 1_047_576, 16000, llm.Price{InputPerMillion: 0.40, OutputPerMillion: 1.60, CachedInputPerMillion: 0.10, Known: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			cfg := loadConfig(t, "  main:\n"+tc.agent)
			m, err := providers.New(context.Background(), cfg, "main", tc.slot, providers.Options{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(m.Name).To(Equal(tc.model))
			g.Expect(m.ContextWindow).To(Equal(tc.window))
			g.Expect(m.MaxOutputTokens).To(Equal(tc.out))
			g.Expect(m.Price).To(Equal(tc.price))
		})
	}
}

// The clients get the catalog's view with the agent's override: Anthropic
// clamps max_tokens to the overridden cap, and on Azure the model (not
// the deployment) is what makes the request a reasoning one.
func TestTheCatalogsViewReachesTheClients(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: messagesAnswer})
	cfg := loadConfig(t, `  main:
    type: anthropic
    model: claude-haiku-4-5
    endpoint: `+srv.URL+`
    catalog:
      claude-haiku-4-5: {max_output_tokens: 4096}
`)
	m, err := providers.New(context.Background(), cfg, "main", llm.SlotExecution, providers.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.MaxOutputTokens).To(Equal(4096))
	_, err = m.Provider.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}, MaxOutputTokens: 50000})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Requests()[0].Body).To(HaveKeyWithValue("max_tokens", BeNumerically("==", 4096)))

	srv = fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: chatAnswer})
	cfg = loadConfig(t, `  main:
    type: azure_openai
    endpoint: `+srv.URL+`
    deployment: reasoner-prod
    model: o4-mini
    api_version: 2025-04-01-preview
    reasoning_effort: high
`)
	m, err = providers.New(context.Background(), cfg, "main", llm.SlotPlanning, providers.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.Name).To(Equal("o4-mini"))
	_, err = m.Provider.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("plan")}, MaxOutputTokens: 1000})
	g.Expect(err).NotTo(HaveOccurred())
	req := srv.Requests()[0]
	g.Expect(req.Path).To(Equal("/openai/deployments/reasoner-prod/chat/completions"))
	g.Expect(req.Body).To(HaveKeyWithValue("reasoning_effort", "high"))
	g.Expect(req.Body).To(HaveKeyWithValue("max_completion_tokens", BeNumerically("==", 1000)))
}

// Ollama is asked about the model when the model is built, before any
// call: its context length is the window the loop fills and num_ctx, a
// larger configured window is refused, and so is an execution slot on a
// model the server does not let call tools.
func TestOllamaIsAskedAboutTheModelAtStart(t *testing.T) {
	ollamaAgent := func(url, extra string) string {
		return "  main:\n    type: ollama\n    model: qwen3:8b\n    endpoint: " + url + "\n    compaction: {enabled: false}\n" + extra
	}
	t.Run("the server's length", func(t *testing.T) {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		srv.Queue(fake.Answer{Status: 200, Body: showAnswer(t)}, fake.Answer{Status: 200, Body: ollamaAnswer})
		m, err := providers.New(context.Background(), loadConfig(t, ollamaAgent(srv.URL, "")), "main", llm.SlotExecution, providers.Options{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(srv.Requests()).To(HaveLen(1))
		g.Expect(srv.Requests()[0].Path).To(Equal("/api/show"))
		g.Expect(m.ContextWindow).To(Equal(40960))
		g.Expect(m.MaxOutputTokens).To(Equal(16000))
		g.Expect(m.Price.Known).To(BeTrue(), "a local model is known to cost nothing")
		g.Expect(m.Price.Cost(llm.Usage{InputTokens: 1e6, OutputTokens: 1e6})).To(BeZero())
		_, err = m.Provider.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(srv.Requests()[1].Body["options"]).To(HaveKeyWithValue("num_ctx", BeNumerically("==", 40960)))
	})
	t.Run("a smaller configured window", func(t *testing.T) {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		srv.Queue(fake.Answer{Status: 200, Body: showAnswer(t)}, fake.Answer{Status: 200, Body: ollamaAnswer})
		m, err := providers.New(context.Background(), loadConfig(t, ollamaAgent(srv.URL, "    context_window: 8192\n")), "main", llm.SlotExecution, providers.Options{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m.ContextWindow).To(Equal(8192))
		g.Expect(m.MaxOutputTokens).To(Equal(4096), "an unset cap leaves half the window for input")
		_, err = m.Provider.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(srv.Requests()[1].Body["options"]).To(HaveKeyWithValue("num_ctx", BeNumerically("==", 8192)))
	})
	t.Run("a window larger than the model's", func(t *testing.T) {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		srv.Queue(fake.Answer{Status: 200, Body: showAnswer(t)})
		_, err := providers.New(context.Background(), loadConfig(t, ollamaAgent(srv.URL, "    context_window: 131072\n")), "main", llm.SlotExecution, providers.Options{})
		g.Expect(err).To(MatchError(ContainSubstring("context_window 131072 is more than the 40960 tokens qwen3:8b holds")))
		g.Expect(srv.Requests()).To(HaveLen(1), "no chat was tried")
	})
	t.Run("a model without tools", func(t *testing.T) {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		srv.Queue(fake.Answer{Status: 200, Body: strings.Replace(showAnswer(t), `"capabilities": ["completion", "tools", "thinking"]`, `"capabilities": ["completion"]`, 1)})
		cfg := loadConfig(t, ollamaAgent(srv.URL, ""))
		_, err := providers.New(context.Background(), cfg, "main", llm.SlotExecution, providers.Options{})
		g.Expect(err).To(MatchError(ContainSubstring("ollama: qwen3:8b cannot call tools (its capabilities on the server: completion); the execution slot needs tools")))
		_, err = providers.New(context.Background(), cfg, "main", llm.SlotPlanning, providers.Options{})
		g.Expect(err).NotTo(HaveOccurred(), "planning calls no tools")
	})
	t.Run("a server that does not answer", func(t *testing.T) {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		url := srv.URL
		srv.Close()
		_, err := providers.New(context.Background(), loadConfig(t, ollamaAgent(url, "")), "main", llm.SlotExecution, providers.Options{})
		g.Expect(err).To(MatchError(ContainSubstring("model for agent main, slot execution")))
	})
}
