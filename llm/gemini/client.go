package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/catalog"
	"github.com/agent-smith/agent-smith/llm/internal/wire"
)

// DefaultBaseURL is the Gemini API.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// localIDPrefix marks call ids made up here for calls the API sent without
// one; they are not sent back.
const localIDPrefix = "local-"

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

// Client is an llm.Provider for one Gemini model.
type Client struct {
	url    string
	header http.Header
	// maxOut is the model's output cap (0: unknown).
	maxOut int
	ep     wire.Endpoint
}

var _ llm.Provider = (*Client)(nil)

// New checks cfg and returns its client.
func New(cfg Config) (*Client, error) {
	if cfg.Model == "" {
		return nil, errors.New("gemini: a model is required")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	model := strings.TrimPrefix(cfg.Model, "models/")
	c := &Client{url: base + "/v1beta/models/" + url.PathEscape(model) + ":generateContent", header: http.Header{},
		ep: wire.Endpoint{Provider: "gemini", Client: cfg.HTTPClient, Secret: cfg.APIKey}}
	if cfg.APIKey != "" {
		c.header.Set("x-goog-api-key", cfg.APIKey)
	}
	info := cfg.Info
	if info == nil {
		k := catalog.Resolve(catalog.Gemini, model, nil)
		info = &k
	}
	if info.Limits {
		c.maxOut = info.MaxOutputTokens
	}
	return c, nil
}

// Chat implements llm.Provider.
func (c *Client) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	var out generateResponse
	err := c.ep.Post(ctx, c.url, c.header, encode(req, c.maxOut), &out)
	if f, ok := errors.AsType[*wire.Failure](err); ok {
		return nil, c.classify(f)
	}
	if err != nil {
		return nil, err
	}
	return decode(&out)
}

func encode(req *llm.Request, maxOut int) *generateRequest {
	out := &generateRequest{}
	if req.System != "" {
		out.SystemInstruction = &content{Parts: []part{{Text: req.System}}}
	}
	if req.MaxOutputTokens > 0 || req.JSON {
		n := req.MaxOutputTokens
		if maxOut > 0 && n > maxOut {
			n = maxOut
		}
		out.GenerationConfig = &generationConfig{MaxOutputTokens: n}
		if req.JSON {
			out.GenerationConfig.ResponseMIMEType = "application/json"
		}
	}
	if len(req.Tools) > 0 {
		decls := make([]functionDeclaration, 0, len(req.Tools))
		for _, t := range req.Tools {
			decls = append(decls, functionDeclaration{Name: t.Name, Description: t.Description, ParametersJSONSchema: t.Parameters})
		}
		out.Tools = []tool{{FunctionDeclarations: decls}}
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		role, parts := "user", []part(nil)
		switch m.Role {
		case llm.RoleUser:
			if m.Text != "" {
				parts = append(parts, part{Text: m.Text})
			}
		case llm.RoleAssistant:
			role = "model"
			if m.Text != "" {
				parts = append(parts, part{Text: m.Text})
			}
			for _, tc := range m.ToolCalls {
				args := tc.Arguments
				if len(args) == 0 || !json.Valid(args) {
					args = json.RawMessage("{}")
				}
				parts = append(parts, part{FunctionCall: &functionCall{ID: remoteID(tc.ID), Name: tc.Name, Args: args}, ThoughtSignature: tc.Signature})
			}
		case llm.RoleTool:
			key := "output"
			if m.IsError {
				key = "error"
			}
			parts = append(parts, part{FunctionResponse: &functionResponse{ID: remoteID(m.ToolCallID), Name: m.ToolName, Response: map[string]any{key: m.Text}}})
		}
		if len(parts) == 0 {
			continue
		}
		// The responses to one model turn's calls go in one user turn.
		if n := len(out.Contents); n > 0 && out.Contents[n-1].Role == role {
			out.Contents[n-1].Parts = append(out.Contents[n-1].Parts, parts...)
			continue
		}
		out.Contents = append(out.Contents, content{Role: role, Parts: parts})
	}
	return out
}

func remoteID(id string) string {
	if strings.HasPrefix(id, localIDPrefix) {
		return ""
	}
	return id
}

func decode(out *generateResponse) (*llm.Response, error) {
	resp := &llm.Response{Model: out.ModelVersion}
	if u := out.UsageMetadata; u != nil {
		// Thinking tokens are billed as output.
		resp.Usage = llm.Usage{InputTokens: u.PromptTokenCount, OutputTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount,
			CachedInputTokens: u.CachedContentTokenCount}
	}
	if len(out.Candidates) == 0 {
		if out.PromptFeedback != nil && out.PromptFeedback.BlockReason != "" {
			resp.StopReason = llm.StopRefusal
			resp.Text = "the prompt was blocked: " + out.PromptFeedback.BlockReason
			return resp, nil
		}
		return nil, &llm.TransportError{Provider: "gemini", Err: errors.New("answer without candidates")}
	}
	cand := out.Candidates[0]
	var text []string
	for _, p := range cand.Content.Parts {
		switch {
		case p.FunctionCall != nil:
			args := p.FunctionCall.Args
			if len(args) == 0 {
				args = json.RawMessage("{}")
			}
			id := p.FunctionCall.ID
			if id == "" {
				id = fmt.Sprintf("%s%d", localIDPrefix, len(resp.ToolCalls)+1)
			}
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: id, Name: p.FunctionCall.Name, Arguments: args, Signature: p.ThoughtSignature})
		case p.Thought:
		case p.Text != "":
			text = append(text, p.Text)
		}
	}
	resp.Text = strings.Join(text, "")
	if cand.FinishReason == "MISSING_THOUGHT_SIGNATURE" {
		// The request lost a signature this client must send back: no
		// retry can fix that.
		return nil, fmt.Errorf("gemini: the model refused the conversation: a thought signature is missing (finishReason MISSING_THOUGHT_SIGNATURE)")
	}
	resp.StopReason = finishReasons[cand.FinishReason]
	if resp.StopReason == "" {
		resp.StopReason = llm.StopOther
	}
	resp.StopDetail = cand.FinishReason
	if cand.FinishMessage != "" {
		resp.StopDetail += ": " + cand.FinishMessage
	}
	if len(resp.ToolCalls) > 0 && resp.StopReason == llm.StopEndTurn {
		resp.StopReason = llm.StopToolUse
	}
	return resp, nil
}

// finishReasons maps every documented finishReason to what the loop does.
var finishReasons = map[string]llm.StopReason{
	"STOP": llm.StopEndTurn, "": llm.StopEndTurn,
	"MAX_TOKENS": llm.StopMaxTokens,
	"SAFETY":     llm.StopRefusal, "RECITATION": llm.StopRefusal, "LANGUAGE": llm.StopRefusal, "BLOCKLIST": llm.StopRefusal,
	"PROHIBITED_CONTENT": llm.StopRefusal, "SPII": llm.StopRefusal, "IMAGE_SAFETY": llm.StopRefusal,
	"IMAGE_PROHIBITED_CONTENT": llm.StopRefusal, "IMAGE_RECITATION": llm.StopRefusal,
	// HTTP 200 with no usable call: the loop tells the model why once.
	"MALFORMED_FUNCTION_CALL": llm.StopBadToolCall, "UNEXPECTED_TOOL_CALL": llm.StopBadToolCall, "TOO_MANY_TOOL_CALLS": llm.StopBadToolCall,
	"OTHER": llm.StopOther, "FINISH_REASON_UNSPECIFIED": llm.StopOther, "IMAGE_OTHER": llm.StopOther, "NO_IMAGE": llm.StopOther,
}

func (c *Client) classify(f *wire.Failure) error {
	var body errorBody
	msg, status := "", ""
	if json.Unmarshal(f.Body, &body) == nil && (body.Error.Message != "" || body.Error.Status != "") {
		msg, status = body.Error.Message, body.Error.Status
	} else {
		msg = wire.Snippet(f.Body)
	}
	msg = c.ep.Scrub(msg)
	lower := strings.ToLower(msg)
	if f.Status == http.StatusBadRequest && (strings.Contains(lower, "input token count") ||
		strings.Contains(lower, "exceeds the maximum number of tokens")) {
		return &llm.ContextLengthError{Provider: "gemini", Message: msg}
	}
	apiErr := c.ep.APIError(f, status, msg)
	if apiErr.RetryAfter == 0 {
		// Google puts the wait in a google.rpc.RetryInfo detail.
		for _, d := range body.Error.Details {
			if strings.HasSuffix(d.Type, "google.rpc.RetryInfo") {
				if wait, err := time.ParseDuration(d.RetryDelay); err == nil && wait > 0 {
					apiErr.RetryAfter = wait
				}
			}
		}
	}
	return apiErr
}
