package runs

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// EntryKind says what an Entry of a run's transcript records.
type EntryKind string

// The kinds of transcript entries.
const (
	// KindNote is a line of prose (AppendProgress).
	KindNote EntryKind = "note"
	// KindState is a transition of the run (the store records it).
	KindState EntryKind = "state"
	// KindPhase is a pipeline phase starting or ending.
	KindPhase EntryKind = "phase"
	// KindModel is one call of a model.
	KindModel EntryKind = "model"
	// KindTool is one tool call the model made.
	KindTool EntryKind = "tool"
	// KindCommand is one command a sandbox ran.
	KindCommand EntryKind = "command"
)

// Bounds of what one entry keeps, so that an entry is at most a few KiB
// whatever a producer hands over: a command's output keeps its tail (the
// end of a test run says what failed), everything else its head.
const (
	maxMessage   = 2048
	maxArguments = 256
	maxCommand   = 512
	maxOutput    = 2048
	maxShort     = 200
)

// Entry is one event of a run's transcript, kept in the run's event log in
// Redis. Exactly one of the typed parts is set for the kinds that have one;
// a note has only Message.
type Entry struct {
	// ID is the log's entry id ("1767225600000-0"): pass it as the cursor
	// to read what follows. It orders entries and starts with the Unix
	// millisecond the entry was appended at.
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	Kind EntryKind `json:"kind"`
	// Step is the pipeline step the entry belongs to, when one runs.
	Step    string `json:"step,omitempty"`
	Message string `json:"message,omitempty"`

	State   *StateChange `json:"state,omitempty"`
	Phase   *Phase       `json:"phase,omitempty"`
	Model   *ModelCall   `json:"model,omitempty"`
	Tool    *ToolCall    `json:"tool,omitempty"`
	Command *Command     `json:"command,omitempty"`
}

// StateChange is a transition of the run.
type StateChange struct {
	To      State `json:"to"`
	Event   Event `json:"event"`
	Attempt int   `json:"attempt"`
	// By is who asked for it (an API token's name), when someone did.
	By    string `json:"by,omitempty"`
	Error string `json:"error,omitempty"`
}

// PhaseStatus is where a phase is.
type PhaseStatus string

// The statuses of a phase.
const (
	PhaseStarted PhaseStatus = "started"
	PhaseEnded   PhaseStatus = "ended"
	PhaseFailed  PhaseStatus = "failed"
)

// Phase is a pipeline phase (fetch-ticket, plan, execute, …) starting or
// ending; Duration is set when it ends.
type Phase struct {
	Name     string      `json:"name"`
	Status   PhaseStatus `json:"status"`
	Duration Duration    `json:"duration,omitzero"`
}

// ModelCall is one request to a model and what it cost.
type ModelCall struct {
	// Phase is the work the call was for ("execution", "plan").
	Phase        string   `json:"phase,omitempty"`
	Model        string   `json:"model"`
	InputTokens  int64    `json:"inputTokens"`
	OutputTokens int64    `json:"outputTokens"`
	CostUSD      float64  `json:"costUsd"`
	Latency      Duration `json:"latency"`
	// Error is why the call failed, when it did.
	Error string `json:"error,omitempty"`
}

// ToolCall is one tool the model called: its arguments abridged, its
// outcome in a few words ("ok", "exit 1", "error: no such file").
type ToolCall struct {
	Name      string   `json:"name"`
	Arguments string   `json:"arguments,omitempty"`
	Outcome   string   `json:"outcome"`
	Duration  Duration `json:"duration"`
}

// Command is one command a repository's sandbox ran: its exit code and the
// tail of its output.
type Command struct {
	Repo     string   `json:"repo,omitempty"`
	Command  string   `json:"command"`
	ExitCode int      `json:"exitCode"`
	Duration Duration `json:"duration"`
	Output   string   `json:"output,omitempty"`
}

// Duration is a time.Duration that reads and writes as Go's duration
// string ("2.5s"), for people and jq alike.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String is the duration rounded for a reader: "850ms", "2.5s", "3m4s".
func (d Duration) String() string {
	v := time.Duration(d)
	switch {
	case v < time.Millisecond:
		return v.String()
	case v < time.Second:
		return v.Round(time.Millisecond).String()
	case v < time.Minute:
		return v.Round(100 * time.Millisecond).String()
	}
	return v.Round(time.Second).String()
}

// MarshalJSON adds the entry's line (String) to its fields, so that a
// client shows entries as the CLI and the page do without rendering them.
func (e Entry) MarshalJSON() ([]byte, error) {
	type fields Entry
	return json.Marshal(struct {
		fields
		Line string `json:"line"`
	}{fields(e), e.String()})
}

// String renders the entry as one line for people: the CLI, the page, the
// agent's and the orchestrator's logs. It holds no line break.
func (e Entry) String() string {
	var b strings.Builder
	if e.Step != "" && e.Phase == nil {
		b.WriteString("[" + e.Step + "] ")
	}
	switch {
	case e.State != nil:
		s := e.State
		fmt.Fprintf(&b, "run %s (%s, attempt %d)", s.To, s.Event, s.Attempt)
		if s.By != "" {
			b.WriteString(" by " + s.By)
		}
		if s.Error != "" {
			b.WriteString(": " + s.Error)
		}
	case e.Phase != nil:
		fmt.Fprintf(&b, "phase %s %s", e.Phase.Name, e.Phase.Status)
		if e.Phase.Duration > 0 {
			b.WriteString(" in " + e.Phase.Duration.String())
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	case e.Model != nil:
		m := e.Model
		b.WriteString("model " + m.Model)
		if m.Phase != "" && m.Phase != e.Step {
			b.WriteString(" for " + m.Phase)
		}
		fmt.Fprintf(&b, ": %d in / %d out tokens, $%.4f, %s", m.InputTokens, m.OutputTokens, m.CostUSD, m.Latency)
		if m.Error != "" {
			b.WriteString(", error: " + m.Error)
		}
	case e.Tool != nil:
		t := e.Tool
		fmt.Fprintf(&b, "tool %s(%s) → %s in %s", t.Name, t.Arguments, t.Outcome, t.Duration)
	case e.Command != nil:
		c := e.Command
		if c.Repo != "" {
			b.WriteString(c.Repo + ": ")
		}
		fmt.Fprintf(&b, "$ %s → exit %d in %s", c.Command, c.ExitCode, c.Duration)
		if e.Message != "" {
			b.WriteString(" (" + e.Message + ")")
		}
		if last := lastLine(c.Output); last != "" {
			b.WriteString(" | " + last)
		}
	default:
		b.WriteString(e.Message)
	}
	return oneLine(b.String())
}

// lastLine is the last non-blank line of s.
func lastLine(s string) string {
	s = strings.TrimRight(s, " \t\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// oneLine turns line breaks and tabs into spaces.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}

// head keeps the first n bytes of s (on a rune boundary), marking a cut.
func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// tail keeps the last n bytes of s (on a rune boundary), marking a cut.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := len(s) - n
	for cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut++
	}
	return "…" + s[cut:]
}

// sanitized is the entry as it may be stored: free text bounded and
// scrubbed of credentials, the id and time left to the log.
func (e Entry) sanitized() Entry {
	out := Entry{Kind: e.Kind, Step: head(redact(e.Step), maxShort), Message: head(redact(e.Message), maxMessage)}
	switch {
	case e.State != nil:
		s := *e.State
		s.By, s.Error = head(redact(s.By), maxShort), head(redact(s.Error), maxMessage)
		out.Kind, out.State = KindState, &s
	case e.Phase != nil:
		p := *e.Phase
		p.Name = head(p.Name, maxShort)
		out.Kind, out.Phase = KindPhase, &p
	case e.Model != nil:
		m := *e.Model
		m.Phase, m.Model, m.Error = head(m.Phase, maxShort), head(m.Model, maxShort), head(redact(m.Error), maxMessage)
		out.Kind, out.Model = KindModel, &m
	case e.Tool != nil:
		t := *e.Tool
		// Redact before cutting: a cut could leave half a token the
		// patterns no longer recognise.
		t.Name, t.Arguments, t.Outcome = head(t.Name, maxShort), head(redact(t.Arguments), maxArguments), head(redact(t.Outcome), maxShort)
		out.Kind, out.Tool = KindTool, &t
	case e.Command != nil:
		c := *e.Command
		c.Repo, c.Command, c.Output = head(c.Repo, maxShort), head(redact(c.Command), maxCommand), tail(redact(c.Output), maxOutput)
		out.Kind, out.Command = KindCommand, &c
	default:
		out.Kind = KindNote
	}
	return out
}

// Fields of a log entry in Redis. Entries written before typed entries
// existed have only step and msg, and read as notes.
const (
	eKind = "kind"
	eStep = "step"
	eMsg  = "msg"
	eData = "data"
)

// encode renders a sanitized entry as stream field/value pairs.
func (e Entry) encode() ([]any, error) {
	kv := []any{eKind, string(e.Kind)}
	kv = appendSet(kv, eStep, e.Step)
	kv = appendSet(kv, eMsg, e.Message)
	var part any
	switch {
	case e.State != nil:
		part = e.State
	case e.Phase != nil:
		part = e.Phase
	case e.Model != nil:
		part = e.Model
	case e.Tool != nil:
		part = e.Tool
	case e.Command != nil:
		part = e.Command
	}
	if part != nil {
		data, err := json.Marshal(part)
		if err != nil {
			return nil, fmt.Errorf("encode %s entry: %w", e.Kind, err)
		}
		kv = append(kv, eData, string(data))
	}
	return kv, nil
}

// decodeEntry reads a stream entry back; an entry of a kind this version
// does not know keeps its kind and message.
func decodeEntry(id string, values map[string]any) (Entry, error) {
	str := func(k string) string { s, _ := values[k].(string); return s }
	e := Entry{ID: id, Kind: EntryKind(str(eKind)), Step: str(eStep), Message: str(eMsg)}
	if e.Kind == "" {
		e.Kind = KindNote
	}
	if msec, _, ok := strings.Cut(id, "-"); ok {
		if n, err := strconv.ParseInt(msec, 10, 64); err == nil {
			e.Time = time.UnixMilli(n).UTC()
		}
	}
	data := str(eData)
	if data == "" {
		return e, nil
	}
	var into any
	switch e.Kind {
	case KindState:
		e.State = &StateChange{}
		into = e.State
	case KindPhase:
		e.Phase = &Phase{}
		into = e.Phase
	case KindModel:
		e.Model = &ModelCall{}
		into = e.Model
	case KindTool:
		e.Tool = &ToolCall{}
		into = e.Tool
	case KindCommand:
		e.Command = &Command{}
		into = e.Command
	default:
		return e, nil
	}
	if err := json.Unmarshal([]byte(data), into); err != nil {
		return Entry{}, fmt.Errorf("entry %s: %s data: %w", id, e.Kind, err)
	}
	return e, nil
}
