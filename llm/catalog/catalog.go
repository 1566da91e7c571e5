// Package catalog is the built-in table of the models agent-smith knows:
// for each, its context window, output cap, whether it reasons and how
// its effort is set, whether it calls tools and answers in JSON mode over
// the API this project speaks, and its prices. Every entry names the
// source it was read from and when (sources.go); MODELS.md lists every
// model with its figures, source and date (TestModelsListIsCurrent keeps
// it in step).
//
// It also holds the pure decisions the config and the provider clients
// share: which entry a configured model name stands for (Lookup,
// Resolve), what context window and output cap an agent's slot gets
// (Decide), whether a model can serve a slot (CheckSlot), and what
// `config validate` prints and warns about (Describe, Warnings).
//
// The package imports nothing of the project: config, llm and every
// provider package may use it.
package catalog

import (
	"regexp"
	"strings"
)

// Provider is an agent type as the config names it.
type Provider string

// The providers. Azure OpenAI serves OpenAI's models under deployment
// names; Ollama serves local models whose limits only the server knows.
const (
	OpenAI      Provider = "openai"
	AzureOpenAI Provider = "azure_openai"
	Anthropic   Provider = "anthropic"
	Gemini      Provider = "gemini"
	Ollama      Provider = "ollama"
)

// family is who makes the model: Azure serves OpenAI's.
func (p Provider) family() Provider {
	if p == AzureOpenAI {
		return OpenAI
	}
	return p
}

// Local reports whether the provider serves models on the user's own
// hardware: no prices, limits from the server.
func (p Provider) Local() bool { return p == Ollama }

// Rates are USD per million tokens.
type Rates struct {
	Input float64 `json:"input"`
	// CachedInput is a prompt-cache hit.
	CachedInput float64 `json:"cachedInput"`
	// CacheWrite is input written to the prompt cache (Anthropic's
	// 5-minute write); 0 bills writes at the input rate.
	CacheWrite float64 `json:"cacheWrite"`
	Output     float64 `json:"output"`
}

// Price is what a model charges. Some models bill a whole request at
// higher rates once its prompt passes a size.
type Price struct {
	Rates
	// LongAbove, when above 0, is the prompt size in tokens (input,
	// cached and cache writes together) past which Long applies to every
	// token of the request.
	LongAbove int   `json:"longAbove,omitempty"`
	Long      Rates `json:"long,omitzero"`
}

// Entry is one model.
type Entry struct {
	// Model is the id the provider documents; Aliases are other ids
	// naming the same model (an undated alias, a dated snapshot).
	Model   string
	Aliases []string
	// Provider is the model's maker: OpenAI, Anthropic or Gemini.
	Provider Provider
	// ContextWindow is input and output together, in tokens.
	ContextWindow int
	// MaxInputTokens bounds the prompt alone where the maker documents a
	// bound below ContextWindow minus the output; 0 means none.
	MaxInputTokens  int
	MaxOutputTokens int
	// Reasoning models take no temperature and count their reasoning in
	// the output cap (OpenAI's max_completion_tokens). Efforts are the
	// reasoning effort values the model accepts, empty when it has no
	// effort setting.
	Reasoning bool
	Efforts   []string
	// Tools says the model calls functions over the API this project
	// speaks for its provider (Chat Completions, Messages,
	// generateContent). ToolsEffort, when set, is the only reasoning
	// effort with which it calls tools there.
	Tools       bool
	ToolsEffort string
	// JSONMode says the API has a switch for a JSON-only answer.
	JSONMode bool
	Price    Price
	// AzureMinAPIVersion is the oldest dated Azure api-version that
	// serves the model; empty when any does (or Azure does not serve it).
	AzureMinAPIVersion string
	// Source keys Sources: where the facts above were read, and when.
	Source string
}

// ids is every name the entry answers to.
func (e *Entry) ids() []string { return append([]string{e.Model}, e.Aliases...) }

// snapshotSuffix is what may follow a model id in a provider's dated or
// versioned name of the same model: -2025-04-14, -20250929, -001, -latest,
// -preview, -preview-09-2025.
var snapshotSuffix = regexp.MustCompile(`^-(\d{4}-\d{2}-\d{2}|\d{8}|\d{3}|latest|preview(-\d{2}-\d{4})?)$`)

// Lookup finds the entry a provider's model name stands for: an id or
// alias, else an id followed by a snapshot suffix. A suffix must look like
// a date or version, so that "claude-sonnet-5-5" never lands on
// "claude-sonnet-5" nor "gpt-4.1-mini" on "gpt-4.1". Ollama and unknown
// providers have no entries.
func Lookup(provider Provider, model string) (Entry, bool) {
	fam := provider.family()
	if fam != OpenAI && fam != Anthropic && fam != Gemini {
		return Entry{}, false
	}
	return find(fam, normalize(fam, model))
}

// Find looks a model name up among every maker's entries; model names do
// not collide across makers. It serves callers that know the model but
// not the provider (a pricing table keyed by model).
func Find(model string) (Entry, bool) {
	for _, fam := range []Provider{OpenAI, Anthropic, Gemini} {
		if e, ok := find(fam, normalize(fam, model)); ok {
			return e, true
		}
	}
	return Entry{}, false
}

func normalize(fam Provider, model string) string {
	m := strings.ToLower(strings.TrimSpace(model))
	if fam == Gemini {
		m = strings.TrimPrefix(m, "models/")
	}
	return m
}

func find(fam Provider, model string) (Entry, bool) {
	for i := range entries {
		e := &entries[i]
		if e.Provider != fam {
			continue
		}
		for _, id := range e.ids() {
			if NamesModel(model, id) {
				return *e, true
			}
		}
	}
	return Entry{}, false
}

// NamesModel reports whether name is the model id or a dated or versioned
// name of it (a snapshot suffix: -2025-04-14, -20250929, -001, -latest,
// -preview): "gpt-4.1-2025-04-14" names gpt-4.1, "gpt-4.1-mini" does not.
func NamesModel(name, id string) bool {
	return name == id || (strings.HasPrefix(name, id) && snapshotSuffix.MatchString(name[len(id):]))
}

// Entries returns a copy of the catalog, for listings and tests.
func Entries() []Entry { return append([]Entry(nil), entries...) }
