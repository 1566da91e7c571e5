package ollama

import "encoding/json"

// The native API's wire format (docs/api.md of github.com/ollama/ollama).

type chatRequest struct {
	Model    string    `json:"model"`
	Messages []message `json:"messages"`
	Tools    []tool    `json:"tools,omitempty"`
	// Stream is always false: one answer object, not a stream.
	Stream bool `json:"stream"`
	// Format "json" asks for a JSON answer.
	Format  string  `json:"format,omitempty"`
	Options options `json:"options"`
}

// options are Modelfile parameters set per request.
type options struct {
	// NumCtx is the context size the server allocates for this call.
	NumCtx     int `json:"num_ctx,omitempty"`
	NumPredict int `json:"num_predict,omitempty"`
}

type message struct {
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	Thinking  string     `json:"thinking,omitempty"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
	// ToolName says which tool a tool message answers.
	ToolName string `json:"tool_name,omitempty"`
}

type toolCall struct {
	// ID is sent by newer servers; older ones send none.
	ID       string       `json:"id,omitempty"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name string `json:"name"`
	// Arguments is a JSON object (not a string, unlike OpenAI's).
	Arguments json.RawMessage `json:"arguments"`
}

type tool struct {
	Type     string      `json:"type"`
	Function functionDef `json:"function"`
}

type functionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
}

type chatResponse struct {
	Model   string  `json:"model"`
	Message message `json:"message"`
	Done    bool    `json:"done"`
	// DoneReason is stop, length, load or unload.
	DoneReason      string `json:"done_reason"`
	PromptEvalCount int    `json:"prompt_eval_count"`
	EvalCount       int    `json:"eval_count"`
}

type showRequest struct {
	Model string `json:"model"`
}

type showResponse struct {
	// ModelInfo holds "general.architecture" and "<arch>.context_length"
	// among the GGUF metadata.
	ModelInfo    map[string]json.RawMessage `json:"model_info"`
	Capabilities []string                   `json:"capabilities"`
}

// errorBody is {"error": "text"}.
type errorBody struct {
	Error string `json:"error"`
}
