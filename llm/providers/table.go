package providers

import (
	"cmp"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/anthropic"
	"github.com/agent-smith/agent-smith/llm/gemini"
	"github.com/agent-smith/agent-smith/llm/openai"
	"github.com/agent-smith/agent-smith/llm/scripted"
)

// Entry is one provider type: what config reads of its agents' blocks, and
// how to build the provider of an agent's model slot.
type Entry struct {
	Kind config.ProviderKind
	// New builds the provider of slot sc of agent with the API key (""
	// when the agent takes none) and returns the model name that prices
	// and reports its calls.
	New func(agent *config.Agent, sc config.ModelSlot, key string, slot llm.Slot, opts Options) (llm.Provider, string, error)
	// NoSummarizer: the provider replays recorded turns, so a summarizer
	// would take turns meant for the loop; compaction condenses
	// mechanically instead.
	NoSummarizer bool
}

// Table maps agent type names to their entries.
type Table map[string]Entry

// Builtin is the table of the provider types agent-smith ships.
func Builtin() Table {
	return Table{
		"azure_openai": {Kind: config.ProviderKind{Settings: newAzureSettings, APIKeySecret: "azure_openai_api_key"}, New: newAzure},
		"openai":       {Kind: config.ProviderKind{APIKeySecret: "openai_api_key"}, New: newOpenAI(openai.FlavorOpenAI)},
		"ollama":       {Kind: config.ProviderKind{Settings: newOllamaSettings}, New: newOpenAI(openai.FlavorOllama)},
		"anthropic":    {Kind: config.ProviderKind{APIKeySecret: "anthropic_api_key"}, New: newAnthropic},
		"gemini":       {Kind: config.ProviderKind{APIKeySecret: "gemini_api_key"}, New: newGemini},
		"scripted":     {Kind: config.ProviderKind{Settings: newScriptedSettings, ModelOptional: true}, New: newScripted, NoSummarizer: true},
	}
}

// Kinds is what config needs of every type of the table (config.Kinds'
// Providers).
func (tb Table) Kinds() map[string]config.ProviderKind {
	out := make(map[string]config.ProviderKind, len(tb))
	for name, e := range tb {
		out[name] = e.Kind
	}
	return out
}

// Kinds is Builtin().Kinds().
func Kinds() map[string]config.ProviderKind { return Builtin().Kinds() }

func newAzure(agent *config.Agent, sc config.ModelSlot, key string, _ llm.Slot, opts Options) (llm.Provider, string, error) {
	s := settingsOf[AzureSettings](agent)
	c, err := openai.New(openai.Config{Flavor: openai.FlavorAzure, BaseURL: agent.Endpoint, Deployment: sc.Deployment,
		APIVersion: s.APIVersion, APIKey: key, HTTPClient: opts.HTTPClient})
	return c, sc.Model, err
}

func newOpenAI(flavor openai.Flavor) func(*config.Agent, config.ModelSlot, string, llm.Slot, Options) (llm.Provider, string, error) {
	return func(agent *config.Agent, sc config.ModelSlot, key string, _ llm.Slot, opts Options) (llm.Provider, string, error) {
		c, err := openai.New(openai.Config{Flavor: flavor, BaseURL: agent.Endpoint, Model: sc.Model, APIKey: key, HTTPClient: opts.HTTPClient})
		return c, sc.Model, err
	}
}

func newAnthropic(agent *config.Agent, sc config.ModelSlot, key string, _ llm.Slot, opts Options) (llm.Provider, string, error) {
	c, err := anthropic.New(anthropic.Config{BaseURL: agent.Endpoint, Model: sc.Model, APIKey: key, HTTPClient: opts.HTTPClient})
	return c, sc.Model, err
}

func newGemini(agent *config.Agent, sc config.ModelSlot, key string, _ llm.Slot, opts Options) (llm.Provider, string, error) {
	c, err := gemini.New(gemini.Config{BaseURL: agent.Endpoint, Model: sc.Model, APIKey: key, HTTPClient: opts.HTTPClient})
	return c, sc.Model, err
}

func newScripted(agent *config.Agent, sc config.ModelSlot, _ string, slot llm.Slot, opts Options) (llm.Provider, string, error) {
	path := resolve(opts.BaseDir, settingsOf[ScriptedSettings](agent).Script)
	turns, err := scripted.Load(path)
	if err != nil {
		return nil, "", err
	}
	return scripted.New(path, turns, slot), cmp.Or(sc.Model, "scripted"), nil
}

// settingsOf is the agent's settings of type T; an agent built without
// them (in code, not from a file) has none set.
func settingsOf[T any, PT interface {
	*T
	config.AgentSettings
}](a *config.Agent) PT {
	if s, ok := a.Settings.(PT); ok && s != nil {
		return s
	}
	return PT(new(T))
}
