package providers

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/anthropic"
	"github.com/agent-smith/agent-smith/llm/catalog"
	"github.com/agent-smith/agent-smith/llm/gemini"
	"github.com/agent-smith/agent-smith/llm/ollama"
	"github.com/agent-smith/agent-smith/llm/openai"
	"github.com/agent-smith/agent-smith/llm/scripted"
)

// Entry is one provider type: what config reads of its agents' blocks, and
// how to build the provider of an agent's model slot.
type Entry struct {
	Kind config.ProviderKind
	// New builds the provider of one slot of an agent.
	New func(ctx context.Context, in Spec) (Built, error)
	// NoSummarizer: the provider replays recorded turns, so a summarizer
	// would take turns meant for the loop; compaction condenses
	// mechanically instead.
	NoSummarizer bool
}

// Spec is what an entry's New builds a provider from.
type Spec struct {
	Agent *config.Agent
	// Slot is the agent's entry for the slot Which: model, deployment,
	// output cap, reasoning effort.
	Slot  config.ModelSlot
	Which llm.Slot
	// Key is the API key; "" when the agent takes none.
	Key string
	// Info is what the catalog, with the agent's override, knows of the
	// slot's model.
	Info catalog.Known
	Options
}

// Built is a provider an entry's New made.
type Built struct {
	Provider llm.Provider
	// Name is the model that prices and reports the calls.
	Name string
	// ServerContextLength is the model's context length as its server
	// reported it at start (Ollama); 0 when the type does not ask.
	ServerContextLength int
}

// Table maps agent type names to their entries.
type Table map[string]Entry

// Builtin is the table of the provider types agent-smith ships.
func Builtin() Table {
	return Table{
		"azure_openai": {Kind: config.ProviderKind{Settings: newAzureSettings, APIKeySecret: "azure_openai_api_key"}, New: newAzure},
		"openai":       {Kind: config.ProviderKind{Settings: newCatalogSettings, APIKeySecret: "openai_api_key"}, New: newOpenAI},
		"ollama":       {Kind: config.ProviderKind{Settings: newOllamaSettings}, New: newOllama},
		"anthropic":    {Kind: config.ProviderKind{Settings: newCatalogSettings, APIKeySecret: "anthropic_api_key"}, New: newAnthropic},
		"gemini":       {Kind: config.ProviderKind{Settings: newCatalogSettings, APIKeySecret: "gemini_api_key"}, New: newGemini},
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

func newAzure(_ context.Context, in Spec) (Built, error) {
	s := settingsOf[AzureSettings](in.Agent)
	c, err := openai.New(openai.Config{Flavor: openai.FlavorAzure, BaseURL: in.Agent.Endpoint, Model: in.Slot.Model,
		Deployment: in.Slot.Deployment, APIVersion: s.APIVersion, Info: &in.Info, ReasoningEffort: in.Slot.ReasoningEffort,
		APIKey: in.Key, HTTPClient: in.HTTPClient})
	return Built{Provider: c, Name: in.Slot.Model}, err
}

func newOpenAI(_ context.Context, in Spec) (Built, error) {
	c, err := openai.New(openai.Config{Flavor: openai.FlavorOpenAI, BaseURL: in.Agent.Endpoint, Model: in.Slot.Model,
		Info: &in.Info, ReasoningEffort: in.Slot.ReasoningEffort, APIKey: in.Key, HTTPClient: in.HTTPClient})
	return Built{Provider: c, Name: in.Slot.Model}, err
}

// newOllama asks the server about the model before anything runs: its
// context length bounds the agent's window (and is the window when the
// config sets none), and an execution slot needs a model the server lets
// call tools.
func newOllama(ctx context.Context, in Spec) (Built, error) {
	c, err := ollama.New(ollama.Config{BaseURL: in.Agent.Endpoint, Model: in.Slot.Model, ContextWindow: in.Agent.ContextWindow,
		APIKey: in.Key, HTTPClient: in.HTTPClient})
	if err != nil {
		return Built{}, err
	}
	info, err := c.Check(ctx)
	if err != nil {
		return Built{}, err
	}
	if in.Which == llm.SlotExecution && !info.Tools() {
		return Built{}, fmt.Errorf("ollama: %s cannot call tools (its capabilities on the server: %s); the execution slot needs tools",
			in.Slot.Model, strings.Join(info.Capabilities, ", "))
	}
	return Built{Provider: c, Name: in.Slot.Model, ServerContextLength: info.ContextLength}, nil
}

func newAnthropic(_ context.Context, in Spec) (Built, error) {
	c, err := anthropic.New(anthropic.Config{BaseURL: in.Agent.Endpoint, Model: in.Slot.Model, Info: &in.Info,
		APIKey: in.Key, HTTPClient: in.HTTPClient})
	return Built{Provider: c, Name: in.Slot.Model}, err
}

func newGemini(_ context.Context, in Spec) (Built, error) {
	c, err := gemini.New(gemini.Config{BaseURL: in.Agent.Endpoint, Model: in.Slot.Model, Info: &in.Info,
		APIKey: in.Key, HTTPClient: in.HTTPClient})
	return Built{Provider: c, Name: in.Slot.Model}, err
}

func newScripted(_ context.Context, in Spec) (Built, error) {
	path := resolve(in.BaseDir, settingsOf[ScriptedSettings](in.Agent).Script)
	turns, err := scripted.Load(path)
	if err != nil {
		return Built{}, err
	}
	return Built{Provider: scripted.New(path, turns, in.Which), Name: cmp.Or(in.Slot.Model, "scripted")}, nil
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
