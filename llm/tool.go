package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Tool is something the model may call in a loop. Call's error goes back
// to the model as a failed tool result, which it can read and act on;
// only an error wrapped with Halt ends the loop.
type Tool interface {
	Def() ToolDef
	Call(ctx context.Context, args json.RawMessage) (string, error)
}

// HaltError is a tool failure that makes going on pointless, such as a
// sandbox that is gone: the loop ends with it instead of telling the model.
type HaltError struct{ Err error }

func (e *HaltError) Error() string { return e.Err.Error() }
func (e *HaltError) Unwrap() error { return e.Err }

// Halt marks err as ending the loop.
func Halt(err error) error { return &HaltError{Err: err} }

// DecodeArgs unmarshals a tool call's arguments into v, with an error
// worded for the model.
func DecodeArgs(args json.RawMessage, v any) error {
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	if err := json.Unmarshal(args, v); err != nil {
		return fmt.Errorf("invalid arguments: %v; send a JSON object matching the tool's schema", err)
	}
	return nil
}

// Names of the tools every loop offers.
const (
	ToolFinish      = "finish"
	ToolLogDecision = "log_decision"
)

// Decision is a choice the model recorded with log_decision, for the run's
// result and the pull request.
type Decision struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason,omitempty"`
}

var finishDef = ToolDef{
	Name: ToolFinish,
	Description: "Call when the task is done (or cannot be done). Summarize what you changed and how you verified it; " +
		"the summary goes into the pull request. Nothing after this call is executed.",
	Parameters: json.RawMessage(`{"type":"object","properties":{` +
		`"summary":{"type":"string","description":"What was changed and why, and how it was verified."}},` +
		`"required":["summary"]}`),
}

var logDecisionDef = ToolDef{
	Name:        ToolLogDecision,
	Description: "Record a design decision and its reason (a trade-off, an assumption, a rejected alternative). Decisions are listed in the pull request.",
	Parameters: json.RawMessage(`{"type":"object","properties":{` +
		`"decision":{"type":"string","description":"What was decided."},` +
		`"reason":{"type":"string","description":"Why."}},` +
		`"required":["decision"]}`),
}

func decodeFinish(args json.RawMessage) (string, error) {
	var a struct {
		Summary string `json:"summary"`
	}
	if err := DecodeArgs(args, &a); err != nil {
		return "", err
	}
	if a.Summary == "" {
		return "", errors.New("summary is required")
	}
	return a.Summary, nil
}

func decodeDecision(args json.RawMessage) (Decision, error) {
	var d Decision
	if err := DecodeArgs(args, &d); err != nil {
		return Decision{}, err
	}
	if d.Decision == "" {
		return Decision{}, errors.New("decision is required")
	}
	return d, nil
}
