package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Query is a single call without tools whose answer must be JSON: the
// plan, a review verdict.
type Query struct {
	Model *Model
	// Budget is the run's account; nil means unaccounted.
	Budget *Budget
	Limits Limits
	Phase  string
	System string
	Prompt string
}

// Validator is implemented by answers that check themselves after
// decoding; its error is shown to the model in the repair turn.
type Validator interface {
	Validate() error
}

// InvalidJSONError is an answer that was still not valid after the repair
// turn.
type InvalidJSONError struct {
	// Text is the last answer.
	Text string
	Err  error
}

func (e *InvalidJSONError) Error() string {
	return fmt.Sprintf("the model's answer is not the JSON asked for: %v", e.Err)
}

func (e *InvalidJSONError) Unwrap() error { return e.Err }

// AskResult is how a query went.
type AskResult struct {
	Calls    int
	Usage    Usage
	CostUSD  float64
	Repaired bool
	// Text is the answer the value was decoded from.
	Text string
}

// AskJSON sends q and decodes the JSON answer into out (a pointer). An
// answer that does not decode, or whose Validate fails, gets one repair
// turn that quotes the problem; a second failure is an
// *InvalidJSONError. Budget refusals and context-length errors are
// returned as they are.
func AskJSON(ctx context.Context, q Query, out any) (AskResult, error) {
	var res AskResult
	if q.Model == nil || q.Model.Provider == nil {
		return res, errors.New("query without a model")
	}
	budget := q.Budget
	if budget == nil {
		budget = NewBudget(0, 0)
	}
	req := &Request{System: q.System, Messages: []Message{UserMessage(q.Prompt)}, JSON: true,
		MaxOutputTokens: positiveMin(q.Model.MaxOutputTokens, q.Limits.MaxOutputTokensPerCall)}
	est := NewEstimator()
	for attempt := 0; ; attempt++ {
		n := est.Request(req)
		if limit := q.Limits.MaxInputTokensPerCall; limit > 0 && n > limit {
			return res, fmt.Errorf("the query needs about %d input tokens, more than limits.max_input_tokens_per_call %d", n, limit)
		}
		resp, rec, err := send(ctx, q.Model, budget, q.Phase, req, n)
		if err != nil {
			return res, err
		}
		res.Calls++
		res.Usage = res.Usage.Add(resp.Usage)
		res.CostUSD += rec.CostUSD
		res.Text = resp.Text
		if resp.StopReason == StopContextWindow {
			// Cut by the context window, not the output cap: a repair
			// turn would only be longer.
			return res, &ContextLengthError{Provider: q.Model.Name, Message: "the query and its answer filled the model's context window"}
		}
		derr := decodeAnswer(resp.Text, out)
		if derr == nil {
			return res, nil
		}
		if attempt == 1 {
			return res, &InvalidJSONError{Text: resp.Text, Err: derr}
		}
		res.Repaired = true
		req.Messages = append(req.Messages,
			Message{Role: RoleAssistant, Text: resp.Text},
			UserMessage(fmt.Sprintf("That answer cannot be used: %v. Answer again with only the corrected JSON, no prose and no code fence.", derr)))
	}
}

// decodeAnswer finds the JSON value in text (models wrap it in code
// fences or prose now and then), decodes it into a fresh value of out's
// type, validates it, and only then stores it in out: a rejected answer
// leaves nothing behind for the repaired one to mix with.
func decodeAnswer(text string, out any) error {
	ptr := reflect.ValueOf(out)
	if ptr.Kind() != reflect.Pointer || ptr.IsNil() {
		return fmt.Errorf("decode target %T is not a pointer", out)
	}
	raw := extractJSON(text)
	if raw == "" {
		return errors.New("it contains no JSON object")
	}
	fresh := reflect.New(ptr.Type().Elem())
	dec := json.NewDecoder(strings.NewReader(raw))
	if err := dec.Decode(fresh.Interface()); err != nil {
		return fmt.Errorf("it is not valid JSON for the expected shape: %v", err)
	}
	if dec.More() {
		return errors.New("it holds more than one JSON value")
	}
	if v, ok := fresh.Interface().(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("it does not pass validation: %v", err)
		}
	}
	ptr.Elem().Set(fresh.Elem())
	return nil
}

// extractJSON returns the JSON value of text: the whole text, the body
// of a ``` fence, or the span from the first { or [ to the last } or ].
func extractJSON(text string) string {
	t := strings.TrimSpace(text)
	if i := strings.Index(t, "```"); i >= 0 {
		body := t[i+3:]
		if nl := strings.IndexByte(body, '\n'); nl >= 0 {
			body = body[nl+1:] // drop the info string (```json)
		}
		if end := strings.Index(body, "```"); end >= 0 {
			body = body[:end]
		}
		t = strings.TrimSpace(body)
	}
	if json.Valid([]byte(t)) {
		return t
	}
	start := strings.IndexAny(t, "{[")
	if start < 0 {
		return ""
	}
	closer := byte('}')
	if t[start] == '[' {
		closer = ']'
	}
	end := strings.LastIndexByte(t, closer)
	if end < start {
		// Unclosed: let the decoder say where it breaks off.
		return t[start:]
	}
	return t[start : end+1]
}
