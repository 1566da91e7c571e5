package ollama

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/internal/wire"
)

// DefaultBaseURL is a local Ollama.
const DefaultBaseURL = "http://localhost:11434"

// localIDPrefix marks call ids made up here for calls the server sent
// without one; they are not sent back.
const localIDPrefix = "local-"

// Config configures a Client.
type Config struct {
	// BaseURL is the server; a trailing /v1 (the OpenAI-compatible base
	// older configs name) is dropped.
	BaseURL string
	Model   string
	// ContextWindow is sent as num_ctx on every call; 0 takes the model's
	// own context length from the server.
	ContextWindow int
	// APIKey is sent as a bearer token, for an Ollama behind an
	// authenticating proxy; empty sends none.
	APIKey     string
	HTTPClient *http.Client
}

// ModelInfo is what the server says of a model.
type ModelInfo struct {
	Architecture string
	// ContextLength is the context the model was trained for, the most
	// num_ctx can usefully be.
	ContextLength int
	Capabilities  []string
}

// Tools reports whether the server lets the model call tools.
func (m ModelInfo) Tools() bool { return slices.Contains(m.Capabilities, "tools") }

// Client is an llm.Provider for one local model.
type Client struct {
	base   string
	model  string
	window int
	header http.Header
	ep     wire.Endpoint

	// mu guards the check done before the first call: numCtx is set
	// once it passed, refused once it failed for good.
	mu      sync.Mutex
	numCtx  int
	refused error
}

var _ llm.Provider = (*Client)(nil)

// New checks cfg and returns its client. It does not call the server:
// Check (or the first Chat) does.
func New(cfg Config) (*Client, error) {
	if cfg.Model == "" {
		return nil, errors.New("ollama: a model is required")
	}
	if cfg.ContextWindow < 0 {
		return nil, fmt.Errorf("ollama: context window %d is negative", cfg.ContextWindow)
	}
	base := strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/v1")
	if base == "" {
		base = DefaultBaseURL
	}
	c := &Client{base: base, model: cfg.Model, window: cfg.ContextWindow, header: http.Header{},
		ep: wire.Endpoint{Provider: "ollama", Client: cfg.HTTPClient, Secret: cfg.APIKey}}
	if cfg.APIKey != "" {
		c.header.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	return c, nil
}

// Show asks the server about the model (POST /api/show).
func (c *Client) Show(ctx context.Context) (ModelInfo, error) {
	var out showResponse
	err := c.ep.Post(ctx, c.base+"/api/show", c.header, showRequest{Model: c.model}, &out)
	if f, ok := errors.AsType[*wire.Failure](err); ok {
		return ModelInfo{}, c.classify(f)
	}
	if err != nil {
		return ModelInfo{}, err
	}
	info := ModelInfo{Capabilities: out.Capabilities}
	_ = json.Unmarshal(out.ModelInfo["general.architecture"], &info.Architecture)
	_ = json.Unmarshal(out.ModelInfo[info.Architecture+".context_length"], &info.ContextLength)
	if info.ContextLength <= 0 {
		return info, fmt.Errorf("ollama: %s: the server reports no %s.context_length in model_info", c.model, info.Architecture)
	}
	return info, nil
}

// CheckWindow refuses a context window the model cannot hold: the server
// would allocate it and still lose what lies beyond the model's trained
// length.
func CheckWindow(model string, window int, info ModelInfo) error {
	if window > info.ContextLength {
		return fmt.Errorf("ollama: context_window %d is more than the %d tokens %s holds (model_info %s.context_length)",
			window, info.ContextLength, model, info.Architecture)
	}
	return nil
}

// Check reads the model's context length from the server and settles the
// num_ctx every call sends. The provider builder calls it at start; Chat
// calls it before the first call when nobody did. A refused window stays
// refused; a server that did not answer is asked again next time.
func (c *Client) Check(ctx context.Context) (ModelInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refused != nil {
		return ModelInfo{}, c.refused
	}
	info, err := c.Show(ctx)
	if err != nil {
		if !llm.IsRetryable(err) && ctx.Err() == nil {
			c.refused = err
		}
		return info, err
	}
	if err := CheckWindow(c.model, c.window, info); err != nil {
		c.refused = err
		return info, err
	}
	c.numCtx = c.window
	if c.numCtx == 0 {
		c.numCtx = info.ContextLength
	}
	return info, nil
}

func (c *Client) contextSize(ctx context.Context) (int, error) {
	c.mu.Lock()
	n := c.numCtx
	c.mu.Unlock()
	if n > 0 {
		return n, nil
	}
	if _, err := c.Check(ctx); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.numCtx, nil
}

// Chat implements llm.Provider.
func (c *Client) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	numCtx, err := c.contextSize(ctx)
	if err != nil {
		return nil, err
	}
	var out chatResponse
	err = c.ep.Post(ctx, c.base+"/api/chat", c.header, c.encode(req, numCtx), &out)
	if f, ok := errors.AsType[*wire.Failure](err); ok {
		return nil, c.classify(f)
	}
	if err != nil {
		return nil, err
	}
	return decode(&out), nil
}

func (c *Client) encode(req *llm.Request, numCtx int) *chatRequest {
	out := &chatRequest{Model: c.model, Messages: make([]message, 0, len(req.Messages)+1),
		Options: options{NumCtx: numCtx, NumPredict: req.MaxOutputTokens}}
	if req.JSON {
		out.Format = "json"
	}
	if req.System != "" {
		out.Messages = append(out.Messages, message{Role: "system", Content: req.System})
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case llm.RoleUser:
			out.Messages = append(out.Messages, message{Role: "user", Content: m.Text})
		case llm.RoleAssistant:
			am := message{Role: "assistant", Content: m.Text}
			for _, tc := range m.ToolCalls {
				args := tc.Arguments
				if len(args) == 0 || !json.Valid(args) {
					args = json.RawMessage("{}")
				}
				id := tc.ID
				if strings.HasPrefix(id, localIDPrefix) {
					id = ""
				}
				am.ToolCalls = append(am.ToolCalls, toolCall{ID: id, Function: functionCall{Name: tc.Name, Arguments: args}})
			}
			out.Messages = append(out.Messages, am)
		case llm.RoleTool:
			out.Messages = append(out.Messages, message{Role: "tool", Content: m.Text, ToolName: m.ToolName})
		}
	}
	for _, t := range req.Tools {
		params := t.Parameters
		if len(params) == 0 {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, tool{Type: "function", Function: functionDef{Name: t.Name, Description: t.Description, Parameters: params}})
	}
	return out
}

func decode(out *chatResponse) *llm.Response {
	resp := &llm.Response{Model: out.Model, Text: out.Message.Content, StopDetail: out.DoneReason,
		Usage: llm.Usage{InputTokens: out.PromptEvalCount, OutputTokens: out.EvalCount}}
	for i, tc := range out.Message.ToolCalls {
		args := tc.Function.Arguments
		if len(args) == 0 || string(args) == "null" {
			args = json.RawMessage("{}")
		}
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("%s%d", localIDPrefix, i+1)
		}
		resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: id, Name: tc.Function.Name, Arguments: args})
	}
	switch out.DoneReason {
	case "stop", "":
		resp.StopReason = llm.StopEndTurn
		if len(resp.ToolCalls) > 0 {
			resp.StopReason = llm.StopToolUse
		}
	case "length":
		resp.StopReason = llm.StopMaxTokens
	default:
		// load and unload answer requests without messages; the loop
		// never sends one.
		resp.StopReason = llm.StopOther
	}
	return resp
}

// classify turns an error answer into the llm error it stands for.
func (c *Client) classify(f *wire.Failure) error {
	var body errorBody
	msg := wire.Snippet(f.Body)
	if json.Unmarshal(f.Body, &body) == nil && body.Error != "" {
		msg = body.Error
	}
	msg = c.ep.Scrub(msg)
	lower := strings.ToLower(msg)
	if strings.Contains(lower, "context length") || strings.Contains(lower, "context size") || strings.Contains(lower, "prompt too long") {
		return &llm.ContextLengthError{Provider: "ollama", Message: msg}
	}
	return c.ep.APIError(f, "", msg)
}
