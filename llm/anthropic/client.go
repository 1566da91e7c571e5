package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/catalog"
	"github.com/agent-smith/agent-smith/llm/internal/wire"
)

// DefaultBaseURL is Anthropic's API.
const DefaultBaseURL = "https://api.anthropic.com"

// APIVersion is the anthropic-version header the wire format follows.
const APIVersion = "2023-06-01"

// defaultMaxTokens fills max_tokens, which the Messages API requires,
// when the request sets no cap.
const defaultMaxTokens = 8192

// Config configures a Client.
type Config struct {
	// BaseURL defaults to DefaultBaseURL.
	BaseURL string
	Model   string
	// Info is what the catalog, with the agent's override, knows of the
	// model; nil looks the model up in the catalog.
	Info       *catalog.Known
	APIKey     string
	HTTPClient *http.Client
}

// Client is an llm.Provider for one Anthropic model.
type Client struct {
	url    string
	model  string
	header http.Header
	// maxOut is the model's output cap (0: unknown): every request's
	// max_tokens is clamped to it, since the API refuses a larger one.
	maxOut int
	ep     wire.Endpoint
}

var _ llm.Provider = (*Client)(nil)

// New checks cfg and returns its client.
func New(cfg Config) (*Client, error) {
	if cfg.Model == "" {
		return nil, errors.New("anthropic: a model is required")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	info := cfg.Info
	if info == nil {
		k := catalog.Resolve(catalog.Anthropic, cfg.Model, nil)
		info = &k
	}
	c := &Client{url: base + "/v1/messages", model: cfg.Model, header: http.Header{},
		ep: wire.Endpoint{Provider: "anthropic", Client: cfg.HTTPClient, Secret: cfg.APIKey}}
	if info.Limits {
		c.maxOut = info.MaxOutputTokens
	}
	c.header.Set("anthropic-version", APIVersion)
	if cfg.APIKey != "" {
		c.header.Set("x-api-key", cfg.APIKey)
	}
	return c, nil
}

// Chat implements llm.Provider.
func (c *Client) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	var out messagesResponse
	err := c.ep.Post(ctx, c.url, c.header, c.encode(req), &out)
	if f, ok := errors.AsType[*wire.Failure](err); ok {
		return nil, c.classify(f)
	}
	if err != nil {
		return nil, err
	}
	return decode(&out)
}

var ephemeral = &cacheControl{Type: "ephemeral"}

func (c *Client) encode(req *llm.Request) *messagesRequest {
	out := &messagesRequest{Model: c.model, MaxTokens: req.MaxOutputTokens}
	if out.MaxTokens <= 0 {
		out.MaxTokens = defaultMaxTokens
	}
	if c.maxOut > 0 {
		out.MaxTokens = min(out.MaxTokens, c.maxOut)
	}
	system := req.System
	if req.JSON {
		// The Messages API has no JSON switch; the instruction is the
		// documented way.
		system = strings.TrimSpace(system + "\n\nAnswer with a single JSON object and nothing else.")
	}
	if system != "" {
		// A cache breakpoint after the system prompt caches it and the
		// tool definitions before it.
		out.System = []contentBlock{{Type: "text", Text: system, CacheControl: ephemeral}}
	}
	for _, t := range req.Tools {
		schema := t.Parameters
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, tool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		role, blocks := "user", []contentBlock(nil)
		switch m.Role {
		case llm.RoleUser:
			if m.Text != "" {
				blocks = append(blocks, contentBlock{Type: "text", Text: m.Text})
			}
		case llm.RoleAssistant:
			role = "assistant"
			blocks = append(blocks, thinkingBlocks(m.ToolCalls)...)
			if m.Text != "" {
				blocks = append(blocks, contentBlock{Type: "text", Text: m.Text})
			}
			for _, tc := range m.ToolCalls {
				input := tc.Arguments
				if len(input) == 0 || !json.Valid(input) {
					input = json.RawMessage("{}")
				}
				blocks = append(blocks, contentBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: input})
			}
		case llm.RoleTool:
			blocks = append(blocks, contentBlock{Type: "tool_result", ToolUseID: m.ToolCallID, Content: m.Text, IsError: m.IsError})
		}
		if len(blocks) == 0 {
			continue
		}
		// Consecutive messages of one role form one turn: the tool
		// results answering one assistant message must share a user turn.
		if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
			out.Messages[n-1].Content = append(out.Messages[n-1].Content, blocks...)
			continue
		}
		out.Messages = append(out.Messages, message{Role: role, Content: blocks})
	}
	if n := len(out.Messages); n > 0 {
		// A breakpoint on the newest block lets the next call of the loop
		// read the whole conversation so far from the cache.
		last := out.Messages[n-1].Content
		if b := &last[len(last)-1]; b.raw == nil {
			b.CacheControl = ephemeral
		}
	}
	return out
}

// thinkingBlocks are the thinking blocks a turn's first call carries
// (decode put them there), to go first in the turn as they came.
func thinkingBlocks(calls []llm.ToolCall) []contentBlock {
	if len(calls) == 0 || calls[0].Signature == "" {
		return nil
	}
	var raws []json.RawMessage
	if json.Unmarshal([]byte(calls[0].Signature), &raws) != nil {
		return nil
	}
	blocks := make([]contentBlock, len(raws))
	for i, raw := range raws {
		blocks[i] = contentBlock{raw: raw}
	}
	return blocks
}

func decode(out *messagesResponse) (*llm.Response, error) {
	resp := &llm.Response{Model: out.Model}
	var text []string
	var thinking [][]byte
	for _, raw := range out.Content {
		var b contentBlock
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, &llm.TransportError{Provider: "anthropic", Err: fmt.Errorf("malformed content block: %v", err)}
		}
		switch b.Type {
		case "text":
			text = append(text, b.Text)
		case "tool_use":
			input := b.Input
			if len(input) == 0 {
				input = json.RawMessage("{}")
			}
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: input})
		case "thinking", "redacted_thinking":
			// A model that thinks refuses the next turn of a tool call
			// without these, unchanged and first.
			thinking = append(thinking, raw)
		}
	}
	if len(thinking) > 0 && len(resp.ToolCalls) > 0 {
		// Only a turn that calls tools needs them back.
		resp.ToolCalls[0].Signature = "[" + string(bytes.Join(thinking, []byte(","))) + "]"
	}
	resp.Text = strings.Join(text, "\n")
	resp.StopReason = stopReasons[out.StopReason]
	if resp.StopReason == "" {
		resp.StopReason = llm.StopOther
	}
	resp.StopDetail = out.StopReason
	u := out.Usage
	resp.Usage = llm.Usage{
		InputTokens:           u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		OutputTokens:          u.OutputTokens,
		CachedInputTokens:     u.CacheReadInputTokens,
		CacheWriteInputTokens: u.CacheCreationInputTokens,
	}
	return resp, nil
}

// stopReasons maps every documented stop_reason to what the loop does.
var stopReasons = map[string]llm.StopReason{
	"end_turn":      llm.StopEndTurn,
	"stop_sequence": llm.StopEndTurn,
	"tool_use":      llm.StopToolUse,
	"max_tokens":    llm.StopMaxTokens,
	"refusal":       llm.StopRefusal,
	// The window, not max_tokens, cut the answer: compact, do not raise
	// the output cap.
	"model_context_window_exceeded": llm.StopContextWindow,
	// A long turn the API paused; sending it back continues it.
	"pause_turn": llm.StopPaused,
}

func (c *Client) classify(f *wire.Failure) error {
	var body errorBody
	msg := ""
	if json.Unmarshal(f.Body, &body) == nil && body.Error.Type != "" {
		msg = body.Error.Message
	} else {
		msg = wire.Snippet(f.Body)
	}
	msg = c.ep.Scrub(msg)
	lower := strings.ToLower(msg)
	if f.Status == http.StatusRequestEntityTooLarge || body.Error.Type == "request_too_large" ||
		(f.Status == http.StatusBadRequest && isContextLengthMessage(lower)) {
		return &llm.ContextLengthError{Provider: "anthropic", Message: msg}
	}
	apiErr := c.ep.APIError(f, body.Error.Type, msg)
	switch body.Error.Type {
	case "overloaded_error", "rate_limit_error", "api_error":
		apiErr.Retryable = true
	}
	if d := body.Error.Details; d != nil && d.ErrorCode == "enforced_spend_limit_reached" {
		// Waiting does not help until the spend limit resets.
		apiErr.Retryable = false
		apiErr.Message = fmt.Sprintf("%s (%s)", apiErr.Message, d.ErrorCode)
	}
	return apiErr
}

// isContextLengthMessage recognises the documented wordings of a request
// that does not fit: "prompt is too long: N tokens > M maximum" and
// "input length and `max_tokens` exceed context limit: a + b > c".
func isContextLengthMessage(lower string) bool {
	return strings.Contains(lower, "prompt is too long") ||
		strings.Contains(lower, "exceed context limit") ||
		strings.Contains(lower, "context window")
}
