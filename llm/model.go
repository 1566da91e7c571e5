package llm

import (
	"fmt"

	"github.com/agent-smith/agent-smith/config"
)

// Slot is the kind of work a model is picked for (the agent's `models`
// block): each slot may name its own model, falling back to the agent's.
type Slot string

// The model slots.
const (
	SlotPlanning      Slot = "planning"
	SlotExecution     Slot = "execution"
	SlotReview        Slot = "review"
	SlotSummarization Slot = "summarization"
)

var slots = []Slot{SlotPlanning, SlotExecution, SlotReview, SlotSummarization}

// ParseSlot checks a slot name.
func ParseSlot(s string) (Slot, error) {
	for _, slot := range slots {
		if string(slot) == s {
			return slot, nil
		}
	}
	return "", fmt.Errorf("unknown model slot %q (want planning, execution, review or summarization)", s)
}

// SlotConfig returns the agent's entry for slot.
func SlotConfig(a *config.Agent, slot Slot) (config.ModelSlot, error) {
	switch slot {
	case SlotPlanning:
		return a.Models.Planning, nil
	case SlotExecution:
		return a.Models.Execution, nil
	case SlotReview:
		return a.Models.Review, nil
	case SlotSummarization:
		return a.Models.Summarization, nil
	}
	return config.ModelSlot{}, fmt.Errorf("unknown model slot %q", slot)
}

// Model is a provider bound to one model, with what the loop needs to know
// about that model. providers.New builds it from the config.
type Model struct {
	Provider Provider
	// Name is the model as priced and reported ("gpt-4.1").
	Name string
	// ContextWindow is the model's context in tokens.
	ContextWindow int
	// MaxOutputTokens is the slot's output cap.
	MaxOutputTokens int
	Price           Price
	Compaction      config.Compaction
	// Summarizer, when set, writes the summaries of compacted turns;
	// without it old turns are condensed mechanically.
	Summarizer *Model
}
