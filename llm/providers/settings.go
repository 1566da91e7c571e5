package providers

import (
	"cmp"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm/catalog"
	"github.com/agent-smith/agent-smith/llm/ollama"
	"github.com/agent-smith/agent-smith/llm/openai"
)

// CatalogSettings are the own key of an openai, anthropic or gemini
// agent: its corrections of the model catalog, by model name
// (catalog.<model>: a newer limit, a negotiated price, a model the catalog
// does not know).
type CatalogSettings struct {
	Catalog map[string]catalog.Override `json:"catalog,omitempty"`
}

func newCatalogSettings() config.AgentSettings { return &CatalogSettings{} }

func (s *CatalogSettings) overrides() map[string]catalog.Override { return s.Catalog }

// Default has nothing to fill: limits the file leaves out are the
// catalog's, decided per slot.
func (*CatalogSettings) Default(config.Block, *config.Agent) {}

// Validate checks every slot against the catalog.
func (s *CatalogSettings) Validate(b config.Block, a *config.Agent) { reviewAgent(b, a, s.Catalog) }

// DescribeSlot is the catalog's view of the slot.
func (s *CatalogSettings) DescribeSlot(a *config.Agent, slot string) string {
	return describeSlot(a, s.Catalog, slot, modelName)
}

// AzureSettings are an azure_openai agent's own keys: the deployment that
// serves the agent's model (and, by default, every slot's), the API
// version, and corrections of the model catalog.
type AzureSettings struct {
	Deployment string                      `json:"deployment,omitempty"`
	APIVersion string                      `json:"api_version,omitempty"`
	Catalog    map[string]catalog.Override `json:"catalog,omitempty"`
}

func newAzureSettings() config.AgentSettings { return &AzureSettings{} }

func (s *AzureSettings) overrides() map[string]catalog.Override { return s.Catalog }

// Default fills api_version (the versionless v1 route, which serves every
// current model), the model (a deployment is usually named after the
// model it serves, and the original system took the model from it), and
// each slot's deployment and model: an empty slot is served by the
// agent's deployment, a slot naming its own model by a deployment named
// after that model, a slot naming only its deployment serves the model
// named like it.
func (s *AzureSettings) Default(b config.Block, a *config.Agent) {
	config.Default(b, "api_version", &s.APIVersion, openai.DefaultAzureAPIVersion)
	config.Default(b, "model", &a.Model, s.Deployment)
	for _, slot := range a.Models.All() {
		switch {
		case slot.Deployment != "":
			slot.Model = cmp.Or(slot.Model, slot.Deployment)
		case slot.Model == "":
			slot.Deployment = cmp.Or(s.Deployment, a.Model)
		default:
			slot.Deployment = slot.Model
		}
	}
}

// Validate checks that the agent names its Azure resource and deployment,
// that api_version serves every slot's model (the model, not the
// deployment), and every slot against the catalog.
func (s *AzureSettings) Validate(b config.Block, a *config.Agent) {
	b.Required("endpoint", a.Endpoint)
	b.Required("deployment", s.Deployment)
	for _, slot := range a.Models.All() {
		if slot.Model == "" {
			continue
		}
		if err := openai.ValidateAzure(slot.Model, s.APIVersion); err != nil {
			b.Fail("api_version", "%v", err)
		}
	}
	reviewAgent(b, a, s.Catalog)
}

// DescribeModel adds the deployment to the model in the summary.
func (s *AzureSettings) DescribeModel(model string) string { return deployed(model, s.Deployment) }

// DescribeSlot is the catalog's view of the slot and its deployment.
func (s *AzureSettings) DescribeSlot(a *config.Agent, slot string) string {
	return describeSlot(a, s.Catalog, slot, func(sc config.ModelSlot) string { return deployed(sc.Model, sc.Deployment) })
}

func deployed(model, deployment string) string {
	if deployment == "" {
		return model
	}
	return model + " (deployment " + deployment + ")"
}

// OllamaSettings are an ollama agent's own key: corrections of what the
// catalog assumes of local models (their limits come from the server at
// start, they cost nothing).
type OllamaSettings struct {
	Catalog map[string]catalog.Override `json:"catalog,omitempty"`
}

func newOllamaSettings() config.AgentSettings { return &OllamaSettings{} }

func (s *OllamaSettings) overrides() map[string]catalog.Override { return s.Catalog }

// Default points endpoint at a local Ollama: without one the common case,
// pointing elsewhere is explicit.
func (*OllamaSettings) Default(b config.Block, a *config.Agent) {
	config.Default(b, "endpoint", &a.Endpoint, ollama.DefaultBaseURL)
}

// Validate checks that endpoint was not emptied, and what the config alone
// can tell of each slot; the server's limits are checked at start.
func (s *OllamaSettings) Validate(b config.Block, a *config.Agent) {
	b.Required("endpoint", a.Endpoint)
	reviewAgent(b, a, s.Catalog)
}

// DescribeSlot is what is known of the slot before the server is asked.
func (s *OllamaSettings) DescribeSlot(a *config.Agent, slot string) string {
	return describeSlot(a, s.Catalog, slot, modelName)
}

// ScriptedSettings are a scripted agent's own key: the exchange script it
// replays.
type ScriptedSettings struct {
	Script string `json:"script,omitempty"`
}

func newScriptedSettings() config.AgentSettings { return &ScriptedSettings{} }

// Default has nothing to fill: the script is the agent's whole point.
func (*ScriptedSettings) Default(config.Block, *config.Agent) {}

// Validate checks that the agent names its script.
func (s *ScriptedSettings) Validate(b config.Block, _ *config.Agent) {
	b.Required("script", s.Script)
}

// DescribeModel shows the script instead of a model in the summary.
func (s *ScriptedSettings) DescribeModel(string) string { return "script " + s.Script }
