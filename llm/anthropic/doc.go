// Package anthropic is the llm.Provider for Anthropic's Messages API
// (POST /v1/messages with tool_use and tool_result content blocks).
//
// It talks plain net/http with typed structs rather than the official
// anthropic-sdk-go: one endpoint is used, non-streaming, with our own
// retry, and the SDK added about 13 MB and 1.5 CPU-minutes of build to a
// binary that is also injected into every sandbox pod.
//
// Of agent-smith it imports llm, llm/catalog and llm/internal/wire, never
// config: llm/providers turns an agent's settings into its Options.
package anthropic
