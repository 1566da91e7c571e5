// Package ollama is the llm.Provider for a local Ollama server's native
// chat API (POST /api/chat, non-streaming), with the model's real context
// length read from POST /api/show.
//
// It speaks the native API rather than Ollama's OpenAI-compatible /v1
// endpoint because only the native one takes the context size per request
// (options.num_ctx): through /v1 the server keeps its own default (4096
// tokens on small GPUs) and silently cuts the start of a longer prompt,
// task included, while the loop believes it has the whole window. Every
// call here sends num_ctx = the agent's context window, and the first call
// refuses a window larger than the model's trained context length.
//
// Of agent-smith it imports llm and llm/internal/wire, never config:
// llm/providers turns an agent's settings into its Options.
package ollama
