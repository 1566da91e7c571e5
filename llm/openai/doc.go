// Package openai is the llm.Provider for the OpenAI chat completions API
// and the servers that speak it: OpenAI itself, Azure OpenAI (deployment
// URLs, api-version, the api-key header), Ollama's /v1 endpoint and any
// OpenAI-compatible base URL (vLLM, LiteLLM, llama.cpp).
//
// It talks plain net/http with typed structs rather than the official
// openai-go SDK: one endpoint is used, non-streaming, with our own retry,
// and the SDK added about 30 MB and two CPU-minutes of build to a binary
// that is also injected into every sandbox pod.
package openai
