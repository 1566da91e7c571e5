package llm

import (
	"time"

	"github.com/agent-smith/agent-smith/config"
)

// Limits bound one tool loop. A zero field does not bind.
type Limits struct {
	MaxToolCalls          int
	MaxModelCalls         int
	MaxInputTokensPerCall int
	// MaxOutputTokensPerCall caps every answer, below the slot's own cap.
	MaxOutputTokensPerCall int
	MaxDuration            time.Duration
}

// LimitsFor reads the loop limits of the `limits` block.
func LimitsFor(l config.Limits) Limits {
	return Limits{
		MaxToolCalls:           l.MaxToolCallsPerLoop,
		MaxModelCalls:          l.MaxLLMCallsPerLoop,
		MaxInputTokensPerCall:  l.MaxInputTokensPerCall,
		MaxOutputTokensPerCall: l.MaxOutputTokensPerCall,
		MaxDuration:            time.Duration(l.MaxSecondsPerLoop) * time.Second,
	}
}

// LoopStop says why a loop ended.
type LoopStop string

// Loop stop reasons. Finished and Answered are the model ending the loop;
// the others are a limit or a failure ending it for the model.
const (
	// StopFinished: the model called the finish tool.
	StopFinished LoopStop = "finished"
	// StopAnswered: the model answered without asking for tools.
	StopAnswered LoopStop = "answered"
	// StopToolCallLimit: limits.max_tool_calls_per_loop.
	StopToolCallLimit LoopStop = "tool_call_limit"
	// StopModelCallLimit: limits.max_llm_calls_per_loop.
	StopModelCallLimit LoopStop = "model_call_limit"
	// StopInputTokenLimit: the conversation cannot be compacted under
	// limits.max_input_tokens_per_call, or a call reported more.
	StopInputTokenLimit LoopStop = "input_token_limit"
	// StopOutputTokenLimit: an answer was cut by the output cap without a
	// usable tool call.
	StopOutputTokenLimit LoopStop = "output_token_limit"
	// StopTimeLimit: limits.max_seconds_per_loop.
	StopTimeLimit LoopStop = "time_limit"
	// StopBudget: the run's cost or token cap refused the next call.
	StopBudget LoopStop = "budget"
	// StopContextLength: the model refused the conversation as too long
	// even after compacting it.
	StopContextLength LoopStop = "context_length"
	// StopRefused: the model's answer was filtered or refused.
	StopRefused LoopStop = "refused"
)

// LimitHit reports whether the loop ended because a limit bound rather
// than because the model was done.
func (s LoopStop) LimitHit() bool { return s != StopFinished && s != StopAnswered }
