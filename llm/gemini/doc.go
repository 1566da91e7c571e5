// Package gemini is the llm.Provider for the Gemini API's generateContent
// method (POST {base}/v1beta/models/{model}:generateContent with
// functionCall and functionResponse parts, key in x-goog-api-key).
//
// It talks plain net/http with typed structs: the official
// google.golang.org/genai module is not on the module list this project
// builds from, and it would bring Google's auth stack for one endpoint.
//
// Of agent-smith it imports llm, llm/catalog and llm/internal/wire, never
// config: llm/providers turns an agent's settings into its Options.
package gemini
