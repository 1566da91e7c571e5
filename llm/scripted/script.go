package scripted

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/agent-smith/agent-smith/llm"
)

// Turn is one model answer of a script.
type Turn struct {
	Slot       string     `json:"slot,omitempty"`
	Text       string     `json:"text,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	Usage      *Usage     `json:"usage,omitempty"`
	StopReason string     `json:"stop_reason,omitempty"`
	StopDetail string     `json:"stop_detail,omitempty"`
}

// ToolCall is a call a turn makes.
type ToolCall struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// Usage is a turn's token counts.
type Usage struct {
	InputTokens           int `json:"input_tokens"`
	OutputTokens          int `json:"output_tokens"`
	CachedInputTokens     int `json:"cached_input_tokens,omitempty"`
	CacheWriteInputTokens int `json:"cache_write_input_tokens,omitempty"`
}

var stopReasons = map[string]llm.StopReason{
	"end_turn": llm.StopEndTurn, "tool_use": llm.StopToolUse, "max_tokens": llm.StopMaxTokens,
	"refusal": llm.StopRefusal, "other": llm.StopOther, "context_window": llm.StopContextWindow,
	"bad_tool_call": llm.StopBadToolCall, "paused": llm.StopPaused,
}

// Load reads and checks the script at path.
func Load(path string) ([]Turn, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read script: %w", err)
	}
	turns, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("script %s: %w", path, err)
	}
	return turns, nil
}

// Parse reads a script and checks every turn, reporting all problems.
func Parse(data []byte) ([]Turn, error) {
	var turns []Turn
	if err := yaml.UnmarshalStrict(data, &turns); err != nil {
		return nil, fmt.Errorf("want a YAML list of turns: %w", err)
	}
	var errs []error
	for i := range turns {
		if err := turns[i].normalize(); err != nil {
			errs = append(errs, fmt.Errorf("turn %d: %w", i+1, err))
		}
	}
	return turns, errors.Join(errs...)
}

// normalize checks a turn and brings arguments given as a JSON string to
// the object they hold.
func (t *Turn) normalize() error {
	var errs []error
	if t.Slot != "" {
		if _, err := llm.ParseSlot(t.Slot); err != nil {
			errs = append(errs, err)
		}
	}
	if _, ok := stopReasons[t.StopReason]; t.StopReason != "" && !ok {
		errs = append(errs, fmt.Errorf("unknown stop_reason %q", t.StopReason))
	}
	if t.Text == "" && len(t.ToolCalls) == 0 && t.StopReason == "" {
		// An empty answer is real only with the reason it stopped (an
		// unusable tool call, a refusal), as a recording keeps it.
		errs = append(errs, errors.New("a turn needs text, tool_calls or a stop_reason"))
	}
	for j := range t.ToolCalls {
		c := &t.ToolCalls[j]
		if c.Name == "" {
			errs = append(errs, fmt.Errorf("tool call %d has no name", j+1))
		}
		args := strings.TrimSpace(string(c.Arguments))
		switch {
		case args == "" || args == "null":
			c.Arguments = json.RawMessage("{}")
		case strings.HasPrefix(args, `"`):
			var s string
			if err := json.Unmarshal(c.Arguments, &s); err != nil || !json.Valid([]byte(s)) {
				errs = append(errs, fmt.Errorf("tool call %d (%s): arguments must be an object or a JSON string", j+1, c.Name))
				continue
			}
			c.Arguments = json.RawMessage(s)
		}
	}
	return errors.Join(errs...)
}

// marshalTurn writes one turn as a YAML list item.
func marshalTurn(t Turn) (string, error) {
	data, err := yaml.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("encode turn: %w", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var b strings.Builder
	for i, line := range lines {
		if i == 0 {
			b.WriteString("- ")
		} else {
			b.WriteString("  ")
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String(), nil
}
