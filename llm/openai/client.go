package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/catalog"
	"github.com/agent-smith/agent-smith/llm/internal/wire"
)

// Flavor is which server the client talks to.
type Flavor string

// The flavors of the chat completions API.
const (
	// FlavorOpenAI is api.openai.com or an OpenAI-compatible base URL.
	FlavorOpenAI Flavor = "openai"
	// FlavorAzure is an Azure OpenAI resource.
	FlavorAzure Flavor = "azure_openai"
)

// DefaultBaseURL is OpenAI's API.
const DefaultBaseURL = "https://api.openai.com/v1"

// Config configures a Client.
type Config struct {
	Flavor Flavor
	// BaseURL is the API base: OpenAI's by default, the /v1 base of a
	// compatible server, or the Azure resource endpoint
	// (https://{resource}.openai.azure.com).
	BaseURL string
	// Model is sent as the model (OpenAI). On Azure it names the
	// model the deployment serves, for the catalog; empty takes the
	// deployment's name.
	Model string
	// Deployment and APIVersion form the Azure URL; APIVersion AzureV1
	// takes the /openai/v1/ route, which wants the deployment as the
	// body's model.
	Deployment string
	APIVersion string
	// Info is what the catalog, with the agent's override, knows of the
	// model; nil looks Model up in the catalog.
	Info *catalog.Known
	// ReasoningEffort is sent to reasoning models ("low", "high"…); empty
	// leaves the model's default.
	ReasoningEffort string
	// APIKey is sent as a bearer token, or as the api-key header on
	// Azure; empty sends none.
	APIKey     string
	HTTPClient *http.Client
}

// Client is an llm.Provider for one model or deployment.
type Client struct {
	flavor Flavor
	url    string
	model  string
	header http.Header
	// legacyMaxTokens sends max_tokens instead of max_completion_tokens.
	legacyMaxTokens bool
	info            catalog.Known
	effort          string
	ep              wire.Endpoint
}

var _ llm.Provider = (*Client)(nil)

// New checks cfg and returns its client.
func New(cfg Config) (*Client, error) {
	c := &Client{flavor: cfg.Flavor, model: cfg.Model, header: http.Header{},
		ep: wire.Endpoint{Provider: string(cfg.Flavor), Client: cfg.HTTPClient, Secret: cfg.APIKey}}
	base := strings.TrimRight(cfg.BaseURL, "/")
	switch cfg.Flavor {
	case FlavorOpenAI:
		if base == "" {
			base = DefaultBaseURL
		}
		// Compatible servers rarely know max_completion_tokens.
		c.legacyMaxTokens = base != DefaultBaseURL
		c.url = base + "/chat/completions"
	case FlavorAzure:
		if err := c.azure(base, cfg); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown chat completions flavor %q", cfg.Flavor)
	}
	if _, err := url.Parse(c.url); err != nil {
		return nil, fmt.Errorf("%s: invalid endpoint: %w", cfg.Flavor, err)
	}
	if cfg.Flavor != FlavorAzure && c.model == "" {
		return nil, fmt.Errorf("%s: a model is required", cfg.Flavor)
	}
	if err := c.describe(cfg); err != nil {
		return nil, err
	}
	switch {
	case cfg.APIKey == "":
	case cfg.Flavor == FlavorAzure:
		c.header.Set("api-key", cfg.APIKey)
	default:
		c.header.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	return c, nil
}

// azure forms the deployment URL, or the v1 route's, and refuses an
// api-version that cannot serve the deployment's model.
func (c *Client) azure(base string, cfg Config) error {
	if base == "" || cfg.Deployment == "" || cfg.APIVersion == "" {
		return errors.New("azure_openai needs an endpoint, a deployment and an api_version")
	}
	model := cfg.Model
	if model == "" {
		model = cfg.Deployment
	}
	if err := ValidateAzure(model, cfg.APIVersion); err != nil {
		return fmt.Errorf("azure_openai deployment %s: %w", cfg.Deployment, err)
	}
	if cfg.APIVersion == AzureV1 {
		c.url = base + "/openai/v1/chat/completions"
		c.model = cfg.Deployment
		return nil
	}
	c.url = fmt.Sprintf("%s/openai/deployments/%s/chat/completions?api-version=%s",
		base, url.PathEscape(cfg.Deployment), url.QueryEscape(cfg.APIVersion))
	c.model = ""
	c.legacyMaxTokens = azureLegacyMaxTokens(cfg.APIVersion)
	return nil
}

// describe settles what the client knows of its model and checks the
// reasoning effort against it.
func (c *Client) describe(cfg Config) error {
	switch {
	case cfg.Info != nil:
		c.info = *cfg.Info
	case cfg.Flavor == FlavorAzure && cfg.Model == "":
		c.info = catalog.Resolve(catalog.AzureOpenAI, cfg.Deployment, nil)
	default:
		c.info = catalog.Resolve(catalog.Provider(cfg.Flavor), cfg.Model, nil)
	}
	c.effort = cfg.ReasoningEffort
	if err := CheckEffort(c.info, c.effort); err != nil {
		return fmt.Errorf("%s: %w", cfg.Flavor, err)
	}
	return nil
}

// CheckEffort refuses a reasoning effort the model does not take. An empty
// effort, and any effort for a model whose limits are unknown, pass: the
// server judges those.
func CheckEffort(k catalog.Known, effort string) error {
	if effort == "" || !k.Limits {
		return nil
	}
	if !k.Reasoning {
		return fmt.Errorf("reasoning effort %q: %s is not a reasoning model", effort, k.Model)
	}
	if !slices.Contains(k.Efforts, effort) {
		return fmt.Errorf("reasoning effort %q is not one %s takes (%s)", effort, k.Model, strings.Join(k.Efforts, ", "))
	}
	return nil
}

// Chat implements llm.Provider.
func (c *Client) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	if len(req.Tools) > 0 && c.info.Limits && !c.info.Tools {
		return nil, fmt.Errorf("%s: %s calls no tools over Chat Completions, and this request needs them", c.flavor, c.info.Model)
	}
	body := c.encode(req)
	var out chatResponse
	err := c.ep.Post(ctx, c.url, c.header, body, &out)
	if f, ok := errors.AsType[*wire.Failure](err); ok {
		return nil, c.classify(f)
	}
	if err != nil {
		return nil, err
	}
	return c.decode(&out)
}

func (c *Client) encode(req *llm.Request) *chatRequest {
	out := &chatRequest{Model: c.model, Messages: make([]chatMessage, 0, len(req.Messages)+1)}
	if n := req.MaxOutputTokens; n > 0 {
		if c.info.Limits {
			n = min(n, c.info.MaxOutputTokens)
		}
		if c.legacyMaxTokens {
			out.MaxTokens = n
		} else {
			out.MaxCompletionTokens = n
		}
	}
	if req.JSON && (!c.info.Limits || c.info.JSONMode) {
		out.ResponseFormat = &responseFormat{Type: "json_object"}
	}
	if c.info.Reasoning {
		out.ReasoningEffort = c.effort
		if len(req.Tools) > 0 && c.info.ToolsEffort != "" {
			// The only effort with which these models call tools here.
			out.ReasoningEffort = c.info.ToolsEffort
		}
	}
	if req.System != "" {
		out.Messages = append(out.Messages, chatMessage{Role: "system", Content: &req.System})
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case llm.RoleUser:
			out.Messages = append(out.Messages, chatMessage{Role: "user", Content: &m.Text})
		case llm.RoleAssistant:
			cm := chatMessage{Role: "assistant"}
			if m.Text != "" || len(m.ToolCalls) == 0 {
				cm.Content = &m.Text
			}
			for _, tc := range m.ToolCalls {
				args := string(tc.Arguments)
				if args == "" {
					args = "{}"
				}
				cm.ToolCalls = append(cm.ToolCalls, toolCall{ID: tc.ID, Type: "function", Function: functionCall{Name: tc.Name, Arguments: args}})
			}
			out.Messages = append(out.Messages, cm)
		case llm.RoleTool:
			out.Messages = append(out.Messages, chatMessage{Role: "tool", ToolCallID: m.ToolCallID, Content: &m.Text})
		}
	}
	for _, t := range req.Tools {
		params := t.Parameters
		if len(params) == 0 {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, chatTool{Type: "function", Function: functionDef{Name: t.Name, Description: t.Description, Parameters: params}})
	}
	return out
}

func (c *Client) decode(out *chatResponse) (*llm.Response, error) {
	if len(out.Choices) == 0 {
		return nil, &llm.TransportError{Provider: string(c.flavor), Err: errors.New("answer without choices")}
	}
	ch := out.Choices[0]
	resp := &llm.Response{Model: out.Model}
	if ch.Message.Content != nil {
		resp.Text = *ch.Message.Content
	}
	for _, tc := range ch.Message.ToolCalls {
		args := json.RawMessage(tc.Function.Arguments)
		if !json.Valid(args) {
			// A cut or broken argument string still reaches the tool loop,
			// which reports it to the model as invalid arguments.
			args, _ = json.Marshal(map[string]string{"_invalid_arguments": tc.Function.Arguments})
		}
		resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args})
	}
	switch ch.FinishReason {
	case "stop":
		resp.StopReason = llm.StopEndTurn
	case "tool_calls", "function_call":
		resp.StopReason = llm.StopToolUse
	case "length":
		resp.StopReason = llm.StopMaxTokens
	case "content_filter":
		resp.StopReason = llm.StopRefusal
	default:
		resp.StopReason = llm.StopOther
	}
	if ch.Message.Refusal != nil && *ch.Message.Refusal != "" {
		resp.StopReason = llm.StopRefusal
		if resp.Text == "" {
			resp.Text = *ch.Message.Refusal
		}
	}
	if len(resp.ToolCalls) > 0 && resp.StopReason == llm.StopEndTurn {
		// Some compatible servers report "stop" next to tool calls.
		resp.StopReason = llm.StopToolUse
	}
	if u := out.Usage; u != nil {
		resp.Usage = llm.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
		if u.PromptTokensDetails != nil {
			resp.Usage.CachedInputTokens = u.PromptTokensDetails.CachedTokens
		}
	}
	return resp, nil
}

// classify turns an error answer into the llm error it stands for.
func (c *Client) classify(f *wire.Failure) error {
	var body errorBody
	var detail errorDetail
	var code string
	switch {
	case json.Unmarshal(f.Body, &body) != nil:
		detail.Message = wire.Snippet(f.Body)
	case len(body.Error) > 0:
		if json.Unmarshal(body.Error, &detail) != nil {
			// {"error": "text"}
			_ = json.Unmarshal(body.Error, &detail.Message)
		}
		code = codeString(detail.Code)
	case body.Message != "":
		detail.Message, detail.Type = body.Message, body.Type
	default:
		detail.Message = wire.Snippet(f.Body)
	}
	msg := c.ep.Scrub(detail.Message)
	if code == "context_length_exceeded" || code == "string_above_max_length" || isContextLengthMessage(msg) {
		return &llm.ContextLengthError{Provider: string(c.flavor), Message: msg}
	}
	typ := code
	if typ == "" {
		typ = detail.Type
	}
	apiErr := c.ep.APIError(f, typ, msg)
	if code == "insufficient_quota" || code == "billing_hard_limit_reached" {
		// A 429 that no waiting fixes: the account is out of credit.
		apiErr.Retryable = false
	}
	return apiErr
}

// codeString reads "code", which is a string on OpenAI and a number on
// some compatible servers.
func codeString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.Trim(string(raw), `"`)
}

// isContextLengthMessage recognises the wording of servers that send no
// code: vLLM ("maximum context length is"), llama.cpp and Ollama
// ("exceeds the available context size", "context length").
func isContextLengthMessage(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "maximum context length") ||
		strings.Contains(m, "context size") ||
		strings.Contains(m, "context length") ||
		strings.Contains(m, "context window")
}
