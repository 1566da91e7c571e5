package llm

import (
	"context"
	"encoding/json"
)

// Provider sends one chat request to a model and returns its answer. It
// makes exactly one attempt: retries, concurrency limits and recording are
// decorators (WithRetry, Gate.Wrap, scripted.Record), so they bind the same
// way for every provider.
type Provider interface {
	Chat(ctx context.Context, req *Request) (*Response, error)
}

// ProviderFunc adapts a function to Provider.
type ProviderFunc func(ctx context.Context, req *Request) (*Response, error)

// Chat implements Provider.
func (f ProviderFunc) Chat(ctx context.Context, req *Request) (*Response, error) { return f(ctx, req) }

// Request is one exchange with the model.
type Request struct {
	System   string
	Messages []Message
	Tools    []ToolDef
	// MaxOutputTokens caps the answer; 0 leaves it to the provider.
	MaxOutputTokens int
	// JSON asks for a single JSON object as the answer, where the provider
	// has a switch for it; the caller still validates what comes back.
	JSON bool
}

// Role is who wrote a Message.
type Role string

// The roles of a conversation. A tool message carries the result of one
// tool call; providers that want results grouped into one user turn
// (Anthropic, Gemini) merge consecutive tool messages.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one entry of a conversation.
type Message struct {
	Role Role
	// Text is the user's text, the assistant's text, or a tool's result.
	Text string
	// ToolCalls are the calls an assistant message asks for.
	ToolCalls []ToolCall
	// ToolCallID and ToolName say which call a tool message answers.
	ToolCallID string
	ToolName   string
	// IsError marks a tool result that reports a failure.
	IsError bool
}

// UserMessage is a user turn with text.
func UserMessage(text string) Message { return Message{Role: RoleUser, Text: text} }

// ToolCall is the model asking to run a tool.
type ToolCall struct {
	ID        string
	Name      string
	Arguments json.RawMessage
	// Signature is opaque provider state attached to the call that must
	// be sent back with it unchanged: Gemini's thought signature, or on
	// the first call of an Anthropic turn the turn's thinking blocks (a
	// model that thinks refuses a tool result whose turn lost them). It
	// rides on the call rather than the message so that a conversation's
	// messages stay small.
	Signature string
}

// ToolDef describes a tool to the model.
type ToolDef struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments object.
	Parameters json.RawMessage
}

// StopReason says why the model stopped writing.
type StopReason string

// Stop reasons, normalised across providers. Each names what the tool
// loop does next.
const (
	StopEndTurn   StopReason = "end_turn"   // the model finished its answer
	StopToolUse   StopReason = "tool_use"   // the model wants tool results
	StopMaxTokens StopReason = "max_tokens" // the output cap cut the answer
	StopRefusal   StopReason = "refusal"    // a content filter or refusal
	// StopContextWindow: input and answer together filled the model's
	// context window (Anthropic's model_context_window_exceeded). The
	// cure is a shorter conversation, not a larger output cap.
	StopContextWindow StopReason = "context_window"
	// StopBadToolCall: the model tried to call a tool and the call could
	// not be used (Gemini's MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL,
	// TOO_MANY_TOOL_CALLS); the answer holds no calls. StopDetail says why.
	StopBadToolCall StopReason = "bad_tool_call"
	// StopPaused: the provider paused a long turn (Anthropic's
	// pause_turn); sending the conversation back lets the model go on.
	StopPaused StopReason = "paused"
	StopOther  StopReason = "other"
)

// Response is the model's answer to a Request.
type Response struct {
	Text       string
	ToolCalls  []ToolCall
	StopReason StopReason
	// StopDetail is the provider's own word on the stop, when it gives
	// one (its finish reason and message).
	StopDetail string
	Usage      Usage
	// Model is the model that answered, as the provider names it.
	Model string
}

// Usage counts the tokens of one or more calls. InputTokens includes the
// cached ones and the cache writes; CachedInputTokens is the part served
// from the provider's prompt cache (billed at the cached price),
// CacheWriteInputTokens the part written to it (billed at the cache-write
// price where the provider charges one).
type Usage struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	CachedInputTokens     int `json:"cachedInputTokens"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens,omitempty"`
}

// Total is input plus output tokens.
func (u Usage) Total() int { return u.InputTokens + u.OutputTokens }

// Add returns the sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:           u.InputTokens + v.InputTokens,
		OutputTokens:          u.OutputTokens + v.OutputTokens,
		CachedInputTokens:     u.CachedInputTokens + v.CachedInputTokens,
		CacheWriteInputTokens: u.CacheWriteInputTokens + v.CacheWriteInputTokens,
	}
}
