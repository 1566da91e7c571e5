package openai

import (
	"fmt"
	"regexp"

	"github.com/agent-smith/agent-smith/llm/catalog"
)

// Azure OpenAI api-versions. A dated version (2024-10-21,
// 2025-04-01-preview) goes in the query of the deployment URL; "v1" is the
// versionless route {endpoint}/openai/v1/chat/completions with the
// deployment as the body's model.
const (
	// AzureV1 names the /openai/v1/ route: it serves every current model
	// without a dated version (learn.microsoft.com, Azure OpenAI API
	// version lifecycle, v1 GA since August 2025).
	AzureV1 = "v1"
	// DefaultAzureAPIVersion is what an azure_openai agent without an
	// api_version should use: the route that serves every current model,
	// o-series included.
	DefaultAzureAPIVersion = AzureV1
	// azureMaxCompletionTokens is the first GA version whose chat
	// completions take max_completion_tokens; older ones know only
	// max_tokens.
	azureMaxCompletionTokens = "2024-10-21"
	// azureReasoningFloor is the oldest version serving any o-series
	// model, for reasoning models the catalog records no version for.
	azureReasoningFloor = "2024-12-01-preview"
)

var azureDated = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})(-preview)?$`)

// azureBefore reports whether dated version a is older than b. On one
// date the preview came first.
func azureBefore(a, b string) bool {
	ma, mb := azureDated.FindStringSubmatch(a), azureDated.FindStringSubmatch(b)
	if ma[1] != mb[1] {
		return ma[1] < mb[1]
	}
	return ma[2] != "" && mb[2] == ""
}

// ValidateAzure checks an azure_openai agent's api_version against the
// model its deployment serves (the catalog name, not the deployment's):
// the version must be v1 or dated, and a dated one must be new enough to
// serve the model. The error names the version needed.
func ValidateAzure(model, apiVersion string) error {
	if apiVersion == AzureV1 {
		return nil
	}
	if !azureDated.MatchString(apiVersion) {
		return fmt.Errorf("api_version %q is neither %q nor a dated version such as 2025-04-01-preview", apiVersion, AzureV1)
	}
	e, ok := catalog.Lookup(catalog.AzureOpenAI, model)
	if !ok {
		return nil
	}
	need := e.AzureMinAPIVersion
	if need == "" && e.Reasoning {
		need = azureReasoningFloor
	}
	if need != "" && azureBefore(apiVersion, need) {
		src := catalog.Sources[catalog.AzureVersionsSource]
		return fmt.Errorf("%s needs api_version %s or later (or %s); %s cannot serve it (%s, read %s)",
			e.Model, need, AzureV1, apiVersion, src.URL, src.Read)
	}
	return nil
}

// azureLegacyMaxTokens reports whether a dated version predates
// max_completion_tokens.
func azureLegacyMaxTokens(apiVersion string) bool {
	return azureDated.MatchString(apiVersion) && azureBefore(apiVersion, azureMaxCompletionTokens)
}
