package providers

import (
	"cmp"

	"github.com/agent-smith/agent-smith/config"
)

// AzureSettings are an azure_openai agent's own keys: the deployment that
// serves the agent's model (and, by default, every slot's) and the API
// version.
type AzureSettings struct {
	Deployment string `json:"deployment,omitempty"`
	APIVersion string `json:"api_version,omitempty"`
}

func newAzureSettings() config.AgentSettings { return &AzureSettings{} }

// Default fills api_version, and each slot's deployment: an empty slot is
// served by the agent's deployment, a slot naming its own model by a
// deployment named after that model.
func (s *AzureSettings) Default(b config.Block, a *config.Agent) {
	config.Default(b, "api_version", &s.APIVersion, "2024-10-21")
	for _, slot := range a.Models.All() {
		if slot.Deployment != "" {
			continue
		}
		if slot.Model == "" {
			slot.Deployment = s.Deployment
		}
		if slot.Deployment == "" {
			slot.Deployment = cmp.Or(slot.Model, a.Model)
		}
	}
}

// Validate checks that the agent names its Azure resource and deployment.
func (s *AzureSettings) Validate(b config.Block, a *config.Agent) {
	b.Required("endpoint", a.Endpoint)
	b.Required("deployment", s.Deployment)
}

// DescribeModel adds the deployment to the model in the summary.
func (s *AzureSettings) DescribeModel(model string) string {
	if s.Deployment == "" {
		return model
	}
	return model + " (deployment " + s.Deployment + ")"
}

// OllamaSettings add no keys: an ollama agent without an endpoint talks to
// a local Ollama, the common case; pointing elsewhere is explicit.
type OllamaSettings struct{}

func newOllamaSettings() config.AgentSettings { return &OllamaSettings{} }

// Default points endpoint at a local Ollama.
func (*OllamaSettings) Default(b config.Block, a *config.Agent) {
	config.Default(b, "endpoint", &a.Endpoint, "http://localhost:11434/v1")
}

// Validate checks that endpoint was not emptied.
func (*OllamaSettings) Validate(b config.Block, a *config.Agent) {
	b.Required("endpoint", a.Endpoint)
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
