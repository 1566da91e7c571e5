package catalog

import (
	"fmt"
	"strings"
)

// Override is an agent's correction of the catalog for one model (a newer
// limit, a negotiated price, a model the catalog does not know). Unset
// fields keep the catalog's value. Its keys are the YAML keys of the
// agent's `catalog.<model>` entry.
type Override struct {
	ContextWindow   int   `json:"context_window,omitempty"`
	MaxInputTokens  int   `json:"max_input_tokens,omitempty"`
	MaxOutputTokens int   `json:"max_output_tokens,omitempty"`
	Reasoning       *bool `json:"reasoning,omitempty"`
	Tools           *bool `json:"tools,omitempty"`
	JSONMode        *bool `json:"json_mode,omitempty"`
	// Prices in USD per million tokens; a price override replaces the
	// catalog's tiers by these flat rates.
	InputPerMillion       *float64 `json:"input_per_million,omitempty"`
	CachedInputPerMillion *float64 `json:"cached_input_per_million,omitempty"`
	CacheWritePerMillion  *float64 `json:"cache_write_per_million,omitempty"`
	OutputPerMillion      *float64 `json:"output_per_million,omitempty"`
}

// SourceConfig is the Source of an entry the agent's config made or
// changed.
const SourceConfig = "config"

// Known is a model the catalog (or an override) gives limits for.
type Known struct {
	Entry
	// Limits and Priced say which halves are known: an override may add
	// a price to a model without limits, or the reverse.
	Limits bool
	Priced bool
	// PriceFromConfig says the agent's config set the price.
	PriceFromConfig bool
}

// Resolve is the entry of provider's model with the agent's override
// applied. Ollama models are priced (at nothing) but their limits come
// from the server.
func Resolve(provider Provider, model string, o *Override) Known {
	e, ok := Lookup(provider, model)
	k := Known{Entry: e, Limits: ok, Priced: ok || provider.Local()}
	if !ok {
		k.Model, k.Provider = model, provider.family()
	}
	if o == nil {
		return k
	}
	if o.ContextWindow > 0 || o.MaxInputTokens > 0 || o.MaxOutputTokens > 0 {
		k.Source = SourceConfig
	}
	if o.ContextWindow > 0 {
		k.ContextWindow = o.ContextWindow
	}
	if o.MaxInputTokens > 0 {
		k.MaxInputTokens = o.MaxInputTokens
	}
	if o.MaxOutputTokens > 0 {
		k.MaxOutputTokens = o.MaxOutputTokens
	}
	k.Limits = k.ContextWindow > 0 && k.MaxOutputTokens > 0
	setBool(&k.Reasoning, o.Reasoning)
	setBool(&k.Tools, o.Tools)
	setBool(&k.JSONMode, o.JSONMode)
	if o.InputPerMillion != nil || o.OutputPerMillion != nil || o.CachedInputPerMillion != nil || o.CacheWritePerMillion != nil {
		r := k.Price.Rates
		setFloat(&r.Input, o.InputPerMillion)
		setFloat(&r.CachedInput, o.CachedInputPerMillion)
		setFloat(&r.CacheWrite, o.CacheWritePerMillion)
		setFloat(&r.Output, o.OutputPerMillion)
		k.Price = Price{Rates: r}
		k.Priced, k.PriceFromConfig = true, true
		if !ok {
			k.Source = SourceConfig
		}
	}
	if !ok && o.Tools == nil {
		// A model the catalog does not know is assumed to call tools: the
		// first call tells otherwise.
		k.Tools = true
	}
	return k
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

func setFloat(dst *float64, v *float64) {
	if v != nil {
		*dst = *v
	}
}

// The limits an agent gets when neither its config nor the catalog says.
const (
	FallbackContextWindow = 128000
	// DefaultOutputCap is the output cap of a slot whose config sets none.
	// The cap is reserved out of the context window on every call, so a
	// tool loop of short answers is better served by this than by a
	// model's full output cap.
	DefaultOutputCap = 16000
)

// Settings are what the agent's config says about one slot's limits; 0
// means the config does not set it.
type Settings struct {
	ContextWindow   int
	MaxOutputTokens int
	// ServerContextLength is the context length the server reported for
	// the model (Ollama's /api/show); 0 when not asked.
	ServerContextLength int
}

// Limits are a slot's effective limits.
type Limits struct {
	// ContextWindow is what the loop may fill: input and output.
	ContextWindow   int
	MaxOutputTokens int
	// From says where the window came from: "config", "catalog",
	// "server" or "fallback".
	From string
}

// LimitError is a slot the model cannot serve as configured. Key is the
// agent key at fault (context_window, max_output_tokens, or model), for
// placing the error in the config.
type LimitError struct {
	Key string
	msg string
}

func (e *LimitError) Error() string { return e.msg }

func limitError(key, format string, args ...any) error {
	return &LimitError{Key: key, msg: fmt.Sprintf(format, args...)}
}

// Decide picks a slot's context window and output cap: the config's when
// it sets them, else the model's own (from the catalog or the server),
// else the fallbacks. An output cap the config does not set takes at most
// half the window, so a small local model keeps room for its input. A
// config asking for more than the model holds is refused with the model's
// figure and its source, because the provider would refuse or silently
// truncate every such call. Errors are *LimitError.
func Decide(k Known, s Settings) (Limits, error) {
	modelWindow, from := 0, "fallback"
	switch {
	case s.ServerContextLength > 0:
		modelWindow, from = s.ServerContextLength, "server"
	case k.Limits:
		modelWindow, from = k.ContextWindow, "catalog"
	}
	l := Limits{ContextWindow: modelWindow, MaxOutputTokens: DefaultOutputCap, From: from}
	if l.ContextWindow == 0 {
		l.ContextWindow = FallbackContextWindow
	}
	if s.ContextWindow > 0 {
		if modelWindow > 0 && s.ContextWindow > modelWindow {
			return Limits{}, limitError("context_window", "context_window %d is more than the %d tokens %s holds (%s)", s.ContextWindow, modelWindow, k.Model, k.origin(from))
		}
		l.ContextWindow, l.From = s.ContextWindow, "config"
	}
	modelOut := 0
	if k.Limits {
		modelOut = k.MaxOutputTokens
		l.MaxOutputTokens = min(DefaultOutputCap, modelOut)
	}
	if s.MaxOutputTokens > 0 {
		if modelOut > 0 && s.MaxOutputTokens > modelOut {
			return Limits{}, limitError("max_output_tokens", "max_output_tokens %d is more than the %d tokens %s writes at most (%s)", s.MaxOutputTokens, modelOut, k.Model, k.origin("catalog"))
		}
		l.MaxOutputTokens = s.MaxOutputTokens
	} else {
		l.MaxOutputTokens = min(l.MaxOutputTokens, l.ContextWindow/2)
	}
	if l.MaxOutputTokens >= l.ContextWindow {
		return Limits{}, limitError("max_output_tokens", "max_output_tokens %d leaves no room for input in a context window of %d", l.MaxOutputTokens, l.ContextWindow)
	}
	if k.Limits && k.MaxInputTokens > 0 {
		// The loop sends up to window minus output; keep that under the
		// model's own input bound.
		l.ContextWindow = min(l.ContextWindow, k.MaxInputTokens+l.MaxOutputTokens)
	}
	return l, nil
}

// origin names where a figure came from, for errors.
func (k *Known) origin(from string) string {
	switch {
	case from == "server":
		return "as the server reports it"
	case k.Source == SourceConfig:
		return "the agent's catalog override"
	}
	if src, ok := Sources[k.Source]; ok {
		return "catalog: " + src.URL + ", read " + src.Read
	}
	return "catalog"
}

// Slot needs: the execution loop calls tools; planning, review and
// summaries are single answers, planning and review in JSON.
type Needs struct {
	Tools bool
	JSON  bool
}

// CheckSlot refuses a model that cannot do what a slot needs over the API
// this project speaks. A model the catalog does not know passes. The error
// is a *LimitError of the key model.
func CheckSlot(k Known, n Needs) error {
	if !k.Limits {
		return nil
	}
	if n.Tools && !k.Tools {
		return limitError("model", "%s cannot call tools over the API agent-smith uses for it (%s); the execution slot needs tools", k.Model, k.origin("catalog"))
	}
	return nil
}

// Describe is the catalog's view of a slot for `config validate`: limits,
// where they come from, and the price.
func Describe(provider Provider, k Known, l Limits) string {
	var b strings.Builder
	if provider.Local() && l.From == "fallback" {
		// The server says at start; the fallback is never used.
		fmt.Fprintf(&b, "context from the server at start, output cap %d", l.MaxOutputTokens)
	} else {
		fmt.Fprintf(&b, "context %d (%s), output cap %d", l.ContextWindow, l.From, l.MaxOutputTokens)
	}
	if k.Limits && k.MaxOutputTokens > l.MaxOutputTokens {
		fmt.Fprintf(&b, " of %d", k.MaxOutputTokens)
	}
	switch {
	case provider.Local():
		b.WriteString(", local: no price")
	case !k.Priced:
		b.WriteString(", no price known")
	default:
		r := k.Price.Rates
		fmt.Fprintf(&b, ", $%s in / $%s out", money(r.Input), money(r.Output))
		if r.CachedInput > 0 {
			fmt.Fprintf(&b, " / $%s cached", money(r.CachedInput))
		}
		if r.CacheWrite > 0 {
			fmt.Fprintf(&b, " / $%s cache write", money(r.CacheWrite))
		}
		b.WriteString(" per Mtok")
		if k.PriceFromConfig && k.Source != SourceConfig {
			b.WriteString(" (config)")
		}
		if k.Price.LongAbove > 0 {
			fmt.Fprintf(&b, " (more above %d input tokens)", k.Price.LongAbove)
		}
	}
	if src, ok := Sources[k.Source]; ok {
		fmt.Fprintf(&b, " [catalog, read %s]", src.Read)
	} else if k.Source == SourceConfig {
		b.WriteString(" [config]")
	}
	return b.String()
}

func money(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(s, "0")
	if strings.HasSuffix(s, ".") {
		s += "00"
	} else if i := strings.IndexByte(s, '.'); len(s)-i == 2 {
		s += "0"
	}
	return s
}

// Warnings are what `config validate` should say about a model it cannot
// check: limits and price unknown.
func Warnings(provider Provider, k Known) []string {
	if provider.Local() {
		return nil
	}
	var w []string
	switch {
	case !k.Limits && !k.Priced:
		w = append(w, fmt.Sprintf("model %q is not in the catalog: its context window, output cap and price are unknown; set them in the agent's catalog.%s entry", k.Model, k.Model))
	case !k.Limits:
		w = append(w, fmt.Sprintf("model %q has no known context window or output cap; set context_window and max_output_tokens in the agent's catalog.%s entry", k.Model, k.Model))
	case !k.Priced:
		w = append(w, fmt.Sprintf("model %q has no known price: its calls count tokens but no money, so the run's cost cap cannot bind", k.Model))
	}
	return w
}

// Slot is one agent slot as its config states it, for Review.
type Slot struct {
	Provider Provider
	// Model is the catalog name: on Azure the model the deployment
	// serves, not the deployment's name.
	Model    string
	Override *Override
	Settings Settings
	Needs    Needs
}

// Verdict is the catalog's view of a slot: its effective limits, the line
// `config validate` prints for it, what it warns about, and why the slot
// cannot work (nil when it can).
type Verdict struct {
	Limits   Limits
	Line     string
	Warnings []string
	Err      error
}

// Review decides one slot for `config validate` and for the provider
// builder alike.
func Review(s Slot) Verdict {
	k := Resolve(s.Provider, s.Model, s.Override)
	l, err := Decide(k, s.Settings)
	if err == nil {
		err = CheckSlot(k, s.Needs)
	}
	v := Verdict{Limits: l, Warnings: Warnings(s.Provider, k), Err: err}
	if err == nil {
		v.Line = Describe(s.Provider, k, l)
	}
	return v
}
