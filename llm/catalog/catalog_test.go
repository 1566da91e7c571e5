package catalog_test

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/llm/catalog"
)

func TestLookupFindsIDsAliasesAndSnapshotsButNotNeighbours(t *testing.T) {
	for _, tc := range []struct {
		provider catalog.Provider
		name     string
		want     string // "" when nothing matches
	}{
		{catalog.OpenAI, "gpt-4.1", "gpt-4.1"},
		{catalog.OpenAI, "gpt-4.1-2025-04-14", "gpt-4.1"},
		{catalog.OpenAI, "gpt-4.1-mini", "gpt-4.1-mini"},
		{catalog.OpenAI, "GPT-4o", "gpt-4o"},
		{catalog.OpenAI, "gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{catalog.OpenAI, "o3-mini", "o3-mini"},
		{catalog.OpenAI, "o3-pro", ""},
		{catalog.OpenAI, "gpt-5.6", "gpt-5.6-sol"},
		{catalog.AzureOpenAI, "o4-mini", "o4-mini"},
		{catalog.Anthropic, "claude-sonnet-5-5", "claude-sonnet-5-5"},
		{catalog.Anthropic, "claude-sonnet-5-20260630", "claude-sonnet-5"},
		{catalog.Anthropic, "claude-haiku-4-5-20251001", "claude-haiku-4-5"},
		{catalog.Anthropic, "claude-3-haiku-20240307", ""},
		{catalog.Anthropic, "gpt-4.1", ""},
		{catalog.Gemini, "models/gemini-3.8-flash", "gemini-3.8-flash"},
		{catalog.Gemini, "gemini-3.8-flash-preview-09-2026", "gemini-3.8-flash"},
		{catalog.Ollama, "qwen3:8b", ""},
	} {
		e, ok := catalog.Lookup(tc.provider, tc.name)
		if tc.want == "" {
			NewWithT(t).Expect(ok).To(BeFalse(), "%s %s found %s", tc.provider, tc.name, e.Model)
			continue
		}
		NewWithT(t).Expect(ok).To(BeTrue(), "%s %s", tc.provider, tc.name)
		NewWithT(t).Expect(e.Model).To(Equal(tc.want), "%s %s", tc.provider, tc.name)
	}
	e, ok := catalog.Find("claude-opus-4-5-20251101")
	NewWithT(t).Expect(ok).To(BeTrue())
	NewWithT(t).Expect(e.Provider).To(Equal(catalog.Anthropic))
}

func TestEveryEntryIsCitedAndConsistent(t *testing.T) {
	g := NewWithT(t)
	used := map[string]bool{}
	ids := map[string]string{}
	for _, e := range catalog.Entries() {
		g.Expect(catalog.Sources).To(HaveKey(e.Source), e.Model)
		used[e.Source] = true
		if e.AzureMinAPIVersion != "" {
			used[catalog.AzureVersionsSource] = true
		}
		for _, id := range append([]string{e.Model}, e.Aliases...) {
			g.Expect(ids).NotTo(HaveKey(id), "%s is listed twice", id)
			ids[id] = e.Model
		}
		g.Expect(e.MaxOutputTokens).To(BeNumerically(">", 0), e.Model)
		g.Expect(e.ContextWindow).To(BeNumerically(">", e.MaxOutputTokens), e.Model)
		g.Expect(e.Price.Input).To(BeNumerically(">", 0), e.Model)
		g.Expect(e.Price.Output).To(BeNumerically(">", e.Price.Input), e.Model)
		g.Expect(e.Price.CachedInput).To(And(BeNumerically(">", 0), BeNumerically("<=", e.Price.Input)), e.Model)
		if e.Provider == catalog.Anthropic {
			g.Expect(e.Price.CacheWrite).To(BeNumerically("~", 1.25*e.Price.Input, 1e-9), "%s: 5-minute writes are 1.25x input", e.Model)
		}
		if e.ToolsEffort != "" {
			g.Expect(e.Efforts).To(ContainElement(e.ToolsEffort), e.Model)
		}
		if e.Provider == catalog.OpenAI && e.Reasoning {
			g.Expect(e.AzureMinAPIVersion).NotTo(BeEmpty(), "%s: which api-version serves it on Azure", e.Model)
		}
	}
	for key, src := range catalog.Sources {
		g.Expect(used).To(HaveKey(key), "source %s is cited by no entry", key)
		g.Expect(src.URL).To(HavePrefix("https://"), key)
		g.Expect(src.Read).To(MatchRegexp(`^\d{4}-\d{2}-\d{2}$`), key)
	}
}

func TestResolveAppliesTheAgentsOverride(t *testing.T) {
	g := NewWithT(t)
	yes, no := true, false
	price := 0.5
	k := catalog.Resolve(catalog.Anthropic, "claude-haiku-4-5", &catalog.Override{MaxOutputTokens: 32000, InputPerMillion: &price})
	g.Expect(k.Limits).To(BeTrue())
	g.Expect(k.ContextWindow).To(Equal(200_000), "kept from the catalog")
	g.Expect(k.MaxOutputTokens).To(Equal(32000))
	g.Expect(k.Price.Input).To(Equal(0.5))
	g.Expect(k.Price.Output).To(Equal(5.0), "unset prices keep the catalog's")
	g.Expect(k.Source).To(Equal(catalog.SourceConfig))

	unknown := catalog.Resolve(catalog.OpenAI, "my-finetune", nil)
	g.Expect(unknown.Limits).To(BeFalse())
	g.Expect(unknown.Priced).To(BeFalse())

	made := catalog.Resolve(catalog.OpenAI, "my-finetune", &catalog.Override{ContextWindow: 64000, MaxOutputTokens: 8000, Tools: &no, JSONMode: &yes})
	g.Expect(made.Limits).To(BeTrue())
	g.Expect(made.Tools).To(BeFalse())
	g.Expect(made.Priced).To(BeFalse(), "an override without prices prices nothing")

	local := catalog.Resolve(catalog.Ollama, "qwen3:8b", nil)
	g.Expect(local.Priced).To(BeTrue(), "local models cost nothing")
	g.Expect(local.Limits).To(BeFalse(), "the server knows their limits")
}

func TestDecideTakesTheConfigThenTheModelThenTheFallback(t *testing.T) {
	sonnet := catalog.Resolve(catalog.Anthropic, "claude-sonnet-4-5", nil)
	haiku5 := catalog.Resolve(catalog.Anthropic, "claude-haiku-4-5", nil)
	gpt5 := catalog.Resolve(catalog.OpenAI, "gpt-5", nil)
	gpt4o := catalog.Resolve(catalog.OpenAI, "gpt-4o", nil)
	unknown := catalog.Resolve(catalog.OpenAI, "my-finetune", nil)
	local := catalog.Resolve(catalog.Ollama, "qwen3:8b", nil)
	smallCap := catalog.Resolve(catalog.Anthropic, "claude-haiku-4-5", &catalog.Override{MaxOutputTokens: 4096})
	for _, tc := range []struct {
		name string
		k    catalog.Known
		s    catalog.Settings
		want catalog.Limits
		err  string
	}{
		{"catalog window, default cap", sonnet, catalog.Settings{}, catalog.Limits{ContextWindow: 200_000, MaxOutputTokens: 16000, From: "catalog"}, ""},
		{"model cap below the default", smallCap, catalog.Settings{}, catalog.Limits{ContextWindow: 200_000, MaxOutputTokens: 4096, From: "catalog"}, ""},
		{"model cap above the default", gpt4o, catalog.Settings{}, catalog.Limits{ContextWindow: 128_000, MaxOutputTokens: 16000, From: "catalog"}, ""},
		{"config narrows the window", sonnet, catalog.Settings{ContextWindow: 100_000, MaxOutputTokens: 8000}, catalog.Limits{ContextWindow: 100_000, MaxOutputTokens: 8000, From: "config"}, ""},
		{"config window above the model's", sonnet, catalog.Settings{ContextWindow: 1_000_000}, catalog.Limits{},
			"context_window 1000000 is more than the 200000 tokens claude-sonnet-4-5 holds (catalog: https://platform.claude.com/"},
		{"a per-task output cap the model cannot write", haiku5, catalog.Settings{MaxOutputTokens: 100_000}, catalog.Limits{},
			"max_output_tokens 100000 is more than the 64000 tokens claude-haiku-4-5 writes at most"},
		{"input bound below window minus output", gpt5, catalog.Settings{}, catalog.Limits{ContextWindow: 272_000 + 16000, MaxOutputTokens: 16000, From: "catalog"}, ""},
		{"unknown model takes the fallbacks", unknown, catalog.Settings{}, catalog.Limits{ContextWindow: 128_000, MaxOutputTokens: 16000, From: "fallback"}, ""},
		{"unknown model trusts the config", unknown, catalog.Settings{ContextWindow: 500_000, MaxOutputTokens: 50_000}, catalog.Limits{ContextWindow: 500_000, MaxOutputTokens: 50_000, From: "config"}, ""},
		{"server length", local, catalog.Settings{ServerContextLength: 40960}, catalog.Limits{ContextWindow: 40960, MaxOutputTokens: 16000, From: "server"}, ""},
		{"config window above the server's", local, catalog.Settings{ContextWindow: 131072, ServerContextLength: 40960}, catalog.Limits{},
			"context_window 131072 is more than the 40960 tokens qwen3:8b holds (as the server reports it)"},
		{"output as large as the window", local, catalog.Settings{ContextWindow: 8192, MaxOutputTokens: 8192, ServerContextLength: 40960}, catalog.Limits{},
			"max_output_tokens 8192 leaves no room for input in a context window of 8192"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			l, err := catalog.Decide(tc.k, tc.s)
			if tc.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(l).To(Equal(tc.want))
		})
	}
}

func TestCheckSlotRefusesAToolSlotOnAModelWithoutChatTools(t *testing.T) {
	g := NewWithT(t)
	astra := catalog.Resolve(catalog.OpenAI, "gpt-6.2-astra", nil)
	g.Expect(catalog.CheckSlot(astra, catalog.Needs{Tools: true})).To(MatchError(ContainSubstring("gpt-6.2-astra cannot call tools")))
	g.Expect(catalog.CheckSlot(astra, catalog.Needs{JSON: true})).To(Succeed(), "planning and review need no tools")
	g.Expect(catalog.CheckSlot(catalog.Resolve(catalog.OpenAI, "gpt-6-luna", nil), catalog.Needs{Tools: true})).To(Succeed())
	g.Expect(catalog.CheckSlot(catalog.Resolve(catalog.OpenAI, "my-finetune", nil), catalog.Needs{Tools: true})).To(Succeed())
}

func TestDescribeAndWarnings(t *testing.T) {
	g := NewWithT(t)
	k := catalog.Resolve(catalog.Anthropic, "claude-sonnet-4-5", nil)
	l, err := catalog.Decide(k, catalog.Settings{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(catalog.Describe(catalog.Anthropic, k, l)).To(Equal(
		"context 200000 (catalog), output cap 16000 of 64000, $3.00 in / $15.00 out / $0.30 cached / $3.75 cache write per Mtok [catalog, read 2026-12-05]"))
	g.Expect(catalog.Warnings(catalog.Anthropic, k)).To(BeEmpty())

	haiku := catalog.Resolve(catalog.Anthropic, "claude-haiku-5-5", nil)
	l, _ = catalog.Decide(haiku, catalog.Settings{})
	g.Expect(catalog.Describe(catalog.Anthropic, haiku, l)).To(ContainSubstring("$0.10 in / $0.50 out / $0.01 cached / $0.125 cache write per Mtok (more above 100000 input tokens)"))

	local := catalog.Resolve(catalog.Ollama, "qwen3:8b", nil)
	l, _ = catalog.Decide(local, catalog.Settings{ServerContextLength: 40960})
	g.Expect(catalog.Describe(catalog.Ollama, local, l)).To(Equal("context 40960 (server), output cap 16000, local: no price"))
	g.Expect(catalog.Warnings(catalog.Ollama, local)).To(BeEmpty())

	unknown := catalog.Resolve(catalog.OpenAI, "my-finetune", nil)
	g.Expect(catalog.Warnings(catalog.OpenAI, unknown)).To(ConsistOf(ContainSubstring(`model "my-finetune" is not in the catalog`)))
}

func TestReviewGivesTheLineTheWarningsOrTheReasonASlotCannotWork(t *testing.T) {
	g := NewWithT(t)
	v := catalog.Review(catalog.Slot{Provider: catalog.AzureOpenAI, Model: "o4-mini", Needs: catalog.Needs{Tools: true}})
	g.Expect(v.Err).NotTo(HaveOccurred())
	g.Expect(v.Line).To(HavePrefix("context 200000 (catalog), output cap 16000 of 100000, $1.10 in / $4.40 out / $0.275 cached per Mtok"))
	g.Expect(v.Warnings).To(BeEmpty())

	v = catalog.Review(catalog.Slot{Provider: catalog.OpenAI, Model: "gpt-6.2-sol", Needs: catalog.Needs{Tools: true}})
	g.Expect(v.Err).To(MatchError(ContainSubstring("gpt-6.2-sol cannot call tools")))
	g.Expect(v.Line).To(BeEmpty())

	v = catalog.Review(catalog.Slot{Provider: catalog.Anthropic, Model: "claude-haiku-4-5", Settings: catalog.Settings{MaxOutputTokens: 128000}})
	g.Expect(v.Err).To(MatchError(ContainSubstring("max_output_tokens 128000 is more than the 64000 tokens claude-haiku-4-5 writes at most")))

	v = catalog.Review(catalog.Slot{Provider: catalog.Gemini, Model: "gemini-9-ultra"})
	g.Expect(v.Err).NotTo(HaveOccurred())
	g.Expect(v.Line).To(Equal("context 128000 (fallback), output cap 16000, no price known"))
	g.Expect(v.Warnings).To(HaveLen(1))
}

// Review's errors name the config key at fault, so the config can place
// them on the line to change.
func TestLimitErrorsNameTheKeyAtFault(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    catalog.Slot
		key  string
	}{
		{"window", catalog.Slot{Provider: catalog.OpenAI, Model: "gpt-4o", Settings: catalog.Settings{ContextWindow: 200_000}}, "context_window"},
		{"output above the model's", catalog.Slot{Provider: catalog.OpenAI, Model: "gpt-4o", Settings: catalog.Settings{MaxOutputTokens: 20_000}}, "max_output_tokens"},
		{"output filling the window", catalog.Slot{Provider: catalog.OpenAI, Model: "gpt-4o", Settings: catalog.Settings{ContextWindow: 8000, MaxOutputTokens: 8000}}, "max_output_tokens"},
		{"no tools", catalog.Slot{Provider: catalog.OpenAI, Model: "gpt-6.2-astra", Needs: catalog.Needs{Tools: true}}, "model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			var le *catalog.LimitError
			g.Expect(errors.As(catalog.Review(tc.s).Err, &le)).To(BeTrue())
			g.Expect(le.Key).To(Equal(tc.key))
		})
	}
}

func TestAnUnsetOutputCapLeavesHalfTheWindowForInput(t *testing.T) {
	g := NewWithT(t)
	local := catalog.Resolve(catalog.Ollama, "qwen3:0.6b", nil)
	l, err := catalog.Decide(local, catalog.Settings{ServerContextLength: 8192})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(l).To(Equal(catalog.Limits{ContextWindow: 8192, MaxOutputTokens: 4096, From: "server"}))
	_, err = catalog.Decide(local, catalog.Settings{ServerContextLength: 8192, MaxOutputTokens: 8192})
	g.Expect(err).To(MatchError("max_output_tokens 8192 leaves no room for input in a context window of 8192"), "a configured cap is the config's")
}

func TestDescribeSaysWhereAFigureComesFrom(t *testing.T) {
	g := NewWithT(t)
	local := catalog.Resolve(catalog.Ollama, "qwen3:8b", nil)
	g.Expect(catalog.Review(catalog.Slot{Provider: catalog.Ollama, Model: "qwen3:8b"}).Line).To(Equal(
		"context from the server at start, output cap 16000, local: no price"), "before the server is asked")
	g.Expect(local.PriceFromConfig).To(BeFalse())

	price := 1.5
	v := catalog.Review(catalog.Slot{Provider: catalog.OpenAI, Model: "gpt-4.1", Override: &catalog.Override{InputPerMillion: &price}})
	g.Expect(v.Line).To(Equal("context 1047576 (catalog), output cap 16000 of 32768, $1.50 in / $8.00 out / $0.50 cached per Mtok (config) [catalog, read 2026-12-05]"))
	v = catalog.Review(catalog.Slot{Provider: catalog.OpenAI, Model: "my-finetune", Override: &catalog.Override{InputPerMillion: &price, OutputPerMillion: &price}})
	g.Expect(v.Line).To(Equal("context 128000 (fallback), output cap 16000, $1.50 in / $1.50 out per Mtok [config]"))
}

func TestNamesModelTakesSnapshotsNotNeighbours(t *testing.T) {
	g := NewWithT(t)
	g.Expect(catalog.NamesModel("gpt-4.1", "gpt-4.1")).To(BeTrue())
	g.Expect(catalog.NamesModel("gpt-4.1-2025-04-14", "gpt-4.1")).To(BeTrue())
	g.Expect(catalog.NamesModel("claude-sonnet-4-5-20250929", "claude-sonnet-4-5")).To(BeTrue())
	g.Expect(catalog.NamesModel("gpt-4.1-mini", "gpt-4.1")).To(BeFalse())
	g.Expect(catalog.NamesModel("claude-sonnet-4-5", "claude-sonnet-4")).To(BeFalse())
}
