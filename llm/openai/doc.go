// Package openai is the llm.Provider for the OpenAI chat completions API
// and the servers that speak it: OpenAI itself, Azure OpenAI (deployment
// URLs with a dated api-version, or the versionless /openai/v1/ route; the
// api-key header), and any OpenAI-compatible base URL (vLLM, LiteLLM,
// llama.cpp). Ollama has its own package (llm/ollama): only its native API
// takes the context size per request.
//
// What the catalog knows of the model shapes each request: max tokens
// clamped to its cap, reasoning_effort only for reasoning models (and the
// one effort with which a model calls tools over Chat Completions), no
// JSON switch for a model without one. ValidateAzure is the api-version
// rule the config applies to azure_openai agents.
//
// It talks plain net/http with typed structs rather than the official
// openai-go SDK: one endpoint is used, non-streaming, with our own retry,
// and the SDK added about 30 MB and two CPU-minutes of build to a binary
// that is also injected into every sandbox pod.
//
// Of agent-smith it imports llm, llm/catalog and llm/internal/wire, never
// config: llm/providers turns an agent's settings into its Options.
package openai
