package providers

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/catalog"
	"github.com/agent-smith/agent-smith/llm/openai"
)

// This file is where an agent's config meets the model catalog: the same
// review of each slot checks the config (`config validate`), writes its
// summary line, and sets the limits and price of the models the builder
// makes.

// slots are the agent's slots in the order of config.ModelSlots.All.
var slots = []llm.Slot{llm.SlotPlanning, llm.SlotExecution, llm.SlotReview, llm.SlotSummarization}

// needs is what a slot asks of its model: the execution loop calls tools,
// planning and review answer in JSON.
func needs(slot llm.Slot) catalog.Needs {
	return catalog.Needs{Tools: slot == llm.SlotExecution, JSON: slot == llm.SlotPlanning || slot == llm.SlotReview}
}

// overridesOf are the agent's catalog corrections; none for a type without
// a catalog key (scripted) or an agent built in code.
func overridesOf(a *config.Agent) map[string]catalog.Override {
	if s, ok := a.Settings.(interface {
		overrides() map[string]catalog.Override
	}); ok {
		return s.overrides()
	}
	return nil
}

// override is the agent's correction of the catalog for model: its
// catalog.<model> entry, with the prices of its pricing table where the
// entry sets none. Nil when the agent corrects nothing.
func override(a *config.Agent, overrides map[string]catalog.Override, model string) *catalog.Override {
	o, corrected := overrides[model]
	p, priced := llm.TablePricing(a.Pricing, model)
	if !corrected && !priced {
		return nil
	}
	if priced {
		fill(&o.InputPerMillion, p.InputPerMillion)
		fill(&o.OutputPerMillion, p.OutputPerMillion)
		fill(&o.CachedInputPerMillion, p.CachedInputPerMillion)
		fill(&o.CacheWritePerMillion, p.CacheWritePerMillion)
	}
	return &o
}

func fill(dst **float64, v float64) {
	if *dst == nil {
		*dst = &v
	}
}

// catalogSlot is one slot of the agent as the catalog reviews it.
// serverContextLength is what the server reported at start, 0 before.
func catalogSlot(a *config.Agent, overrides map[string]catalog.Override, slot llm.Slot, sc config.ModelSlot, model string, serverContextLength int) catalog.Slot {
	return catalog.Slot{
		Provider: catalog.Provider(a.Type),
		Model:    model,
		Override: override(a, overrides, model),
		Settings: catalog.Settings{ContextWindow: a.ContextWindow, MaxOutputTokens: sc.MaxOutputTokens, ServerContextLength: serverContextLength},
		Needs:    needs(slot),
	}
}

// reviewAgent checks each slot of the agent against the catalog: a limit
// the model cannot hold or a slot it cannot serve is an error at the key
// at fault, a model without known limits or price a warning, and so is an
// override no slot uses. A reasoning effort must be one the model takes,
// and is only read by the OpenAI types.
func reviewAgent(b config.Block, a *config.Agent, overrides map[string]catalog.Override) {
	for i, sc := range a.Models.All() {
		key := "models." + string(slots[i])
		if sc.Model == "" {
			continue
		}
		s := catalogSlot(a, overrides, slots[i], *sc, sc.Model, 0)
		v := catalog.Review(s)
		if v.Err != nil {
			b.Fail(faultKey(b, key, v.Err), "%v", v.Err)
		}
		for _, w := range v.Warnings {
			b.Warn(own(b, key, "model"), "%s", w)
		}
		checkEffort(b, a, key, s, sc.ReasoningEffort)
	}
	used := map[string]bool{}
	for _, sc := range a.Models.All() {
		used[sc.Model] = true
	}
	for _, model := range slices.Sorted(maps.Keys(overrides)) {
		entry := b.Entry("catalog", model)
		checkOverride(entry, overrides[model])
		if !used[model] {
			entry.Warn("", "no model slot of the agent uses %s, so this override applies to nothing", model)
		}
	}
}

// own is the slot's key when the file sets it there, else the agent's:
// where a slot's value was written.
func own(b config.Block, slotKey, key string) string {
	if b.Has(slotKey + "." + key) {
		return slotKey + "." + key
	}
	return key
}

// faultKey places a review error: on the limit the config set, or the
// model that cannot serve the slot.
func faultKey(b config.Block, slotKey string, err error) string {
	var le *catalog.LimitError
	if !errors.As(err, &le) {
		return slotKey
	}
	switch le.Key {
	case "context_window":
		return "context_window"
	case "max_output_tokens", "model":
		return own(b, slotKey, le.Key)
	}
	return slotKey
}

// effortTypes are the agent types whose clients send a reasoning effort.
var effortTypes = []config.AgentType{"azure_openai", "openai"}

func checkEffort(b config.Block, a *config.Agent, slotKey string, s catalog.Slot, effort string) {
	if effort == "" {
		return
	}
	at := own(b, slotKey, "reasoning_effort")
	if !slices.Contains(effortTypes, a.Type) {
		b.Fail(at, "only applies to azure_openai and openai agents")
		return
	}
	if err := openai.CheckEffort(catalog.Resolve(s.Provider, s.Model, s.Override), effort); err != nil {
		b.Fail(at, "%v", err)
	}
}

// checkOverride refuses negative figures in a catalog.<model> entry.
func checkOverride(entry config.Block, o catalog.Override) {
	for key, n := range map[string]int{"context_window": o.ContextWindow, "max_input_tokens": o.MaxInputTokens, "max_output_tokens": o.MaxOutputTokens} {
		if n < 0 {
			entry.Fail(key, "must not be negative")
		}
	}
	for key, p := range map[string]*float64{"input_per_million": o.InputPerMillion, "cached_input_per_million": o.CachedInputPerMillion,
		"cache_write_per_million": o.CacheWritePerMillion, "output_per_million": o.OutputPerMillion} {
		if p != nil && *p < 0 {
			entry.Fail(key, "prices must not be negative")
		}
	}
}

// describeSlot is the summary line of one slot: how the model reads
// (name) and the catalog's view of it.
func describeSlot(a *config.Agent, overrides map[string]catalog.Override, slot string, name func(config.ModelSlot) string) string {
	s := llm.Slot(slot)
	sc, err := llm.SlotConfig(a, s)
	if err != nil || sc.Model == "" {
		return ""
	}
	model := name(sc)
	if sc.ReasoningEffort != "" {
		model += ", effort " + sc.ReasoningEffort
	}
	v := catalog.Review(catalogSlot(a, overrides, s, sc, sc.Model, 0))
	if v.Err != nil {
		return fmt.Sprintf("%s: %v", model, v.Err)
	}
	return model + ": " + v.Line
}

func modelName(sc config.ModelSlot) string { return sc.Model }
