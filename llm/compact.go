package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Compaction keeps a long conversation inside the model's window. The
// first message (the task) and the most recent turns stay verbatim; a
// turn is an assistant message and the tool results that answer it.
// Older turns shrink in three stages, each only when the one before was
// not enough:
//
//  1. old tool results are cut to a short head, and long string arguments
//     of old tool calls (a written file's content) to a note;
//  2. old turns are dropped whole and replaced by a summary appended to
//     the task message (written by the summarization model, or condensed
//     mechanically from the tool calls);
//  3. fewer recent turns are kept, down to one, whose results are cut to
//     fit as well.

const (
	// elidedHead is how much of an old tool result stays readable.
	elidedHead = 300
	// longArg is the length from which an old tool call's string argument
	// is replaced by a note.
	longArg = 256
	// compactedMark starts every note compaction leaves.
	compactedMark = "[compacted: "
	// summaryHeading separates the task from the summary of dropped turns.
	summaryHeading = "\n\n## Summary of earlier work (older turns were compacted)\n\n"
)

// compactTarget is the share of the trigger a compaction aims for, so
// that it does not run again on the very next turn.
const compactTarget = 0.6

// conversation is the loop's message list with its pinned task.
type conversation struct {
	// task is the first user message as given; summary is appended to it.
	task    string
	summary string
	msgs    []Message
}

// turnStarts returns the indexes of the assistant messages of msgs.
func turnStarts(msgs []Message) []int {
	var out []int
	for i := range msgs {
		if msgs[i].Role == RoleAssistant {
			out = append(out, i)
		}
	}
	return out
}

// recentBoundary is the index of the first message kept verbatim when the
// last keep turns are kept (len(msgs) when keep is 0 or there are no turns).
func recentBoundary(msgs []Message, keep int) int {
	starts := turnStarts(msgs)
	if keep <= 0 || len(starts) == 0 {
		return len(msgs)
	}
	if keep >= len(starts) {
		return starts[0]
	}
	return starts[len(starts)-keep]
}

// elide runs stage 1 on msgs[1:boundary] in place and reports whether
// anything changed. A result already cut stays under the threshold, so
// running it again changes nothing.
func elide(msgs []Message, boundary int) bool {
	changed := false
	for i := 1; i < boundary && i < len(msgs); i++ {
		m := msgs[i]
		switch m.Role {
		case RoleTool:
			if len(m.Text) > 2*elidedHead {
				m.Text = truncateHead(m.Text, elidedHead)
				msgs[i] = m
				changed = true
			}
		case RoleAssistant:
			calls, ok := shrinkCalls(m.ToolCalls)
			if ok {
				m.ToolCalls = calls
				msgs[i] = m
				changed = true
			}
		}
	}
	return changed
}

// truncateHead keeps the first n bytes (on a rune boundary) of text and
// notes what was dropped.
func truncateHead(text string, n int) string {
	cut := runeCut(text, n)
	return fmt.Sprintf("%s\n%s%d bytes of this tool result were dropped to save context; run the tool again if you need them]",
		text[:cut], compactedMark, len(text)-cut)
}

// truncateMiddle keeps the first and last parts of text within n bytes.
func truncateMiddle(text string, n int) string {
	if len(text) <= n {
		return text
	}
	half := n / 2
	head := runeCut(text, half)
	tail := len(text) - half
	for tail < len(text) && !runeStart(text[tail]) {
		tail++
	}
	return fmt.Sprintf("%s\n%s%d bytes in the middle were dropped to save context]\n%s",
		text[:head], compactedMark, tail-head, text[tail:])
}

func runeCut(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for n > 0 && !runeStart(s[n]) {
		n--
	}
	return n
}

func runeStart(b byte) bool { return b&0xC0 != 0x80 }

// shrinkCalls replaces long string arguments of calls by notes, keeping
// the arguments a valid JSON object (providers insist on it).
func shrinkCalls(calls []ToolCall) ([]ToolCall, bool) {
	var out []ToolCall
	for i, c := range calls {
		if len(c.Arguments) <= longArg {
			continue
		}
		var args map[string]any
		if json.Unmarshal(c.Arguments, &args) != nil {
			continue
		}
		shrunk := false
		for k, v := range args {
			if s, ok := v.(string); ok && len(s) > longArg {
				args[k] = fmt.Sprintf("%s%d bytes]", compactedMark, len(s))
				shrunk = true
			}
		}
		if !shrunk {
			continue
		}
		data, err := json.Marshal(args)
		if err != nil {
			continue
		}
		if out == nil {
			out = append([]ToolCall(nil), calls...)
		}
		out[i].Arguments = data
	}
	return out, out != nil
}

// digest condenses msgs (whole turns) into lines a model can read: what
// the assistant said and which tools it called with which outcome.
func digest(msgs []Message) string {
	var b strings.Builder
	results := map[string]*Message{}
	for i := range msgs {
		if msgs[i].Role == RoleTool {
			results[msgs[i].ToolCallID] = &msgs[i]
		}
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Role == RoleUser && m.Text != "" {
			fmt.Fprintf(&b, "- user: %s\n", firstLine(m.Text, 200))
		}
		if m.Role != RoleAssistant {
			continue
		}
		if t := strings.TrimSpace(m.Text); t != "" {
			fmt.Fprintf(&b, "- you said: %s\n", firstLine(t, 200))
		}
		for _, c := range m.ToolCalls {
			outcome := "no result"
			if r := results[c.ID]; r != nil {
				outcome = "ok"
				if r.IsError {
					outcome = "error: " + firstLine(r.Text, 160)
				} else if line := firstLine(r.Text, 120); line != "" {
					outcome = "ok: " + line
				}
			}
			fmt.Fprintf(&b, "- %s %s → %s\n", c.Name, briefArgs(c.Arguments), outcome)
		}
	}
	return b.String()
}

func firstLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > n {
		s = s[:runeCut(s, n)] + "…"
	}
	return s
}

// briefArgs shows a call's arguments on one short line.
func briefArgs(args json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(args, &m) != nil {
		return firstLine(string(args), 120)
	}
	for k, v := range m {
		if s, ok := v.(string); ok && len(s) > 60 {
			m[k] = s[:runeCut(s, 60)] + "…"
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return firstLine(string(data), 160)
}

// taskMessage is the pinned first message with the summary appended.
func (c *conversation) taskMessage() Message {
	if c.summary == "" {
		return UserMessage(c.task)
	}
	return UserMessage(c.task + summaryHeading + c.summary)
}

// compactor runs the stages on a conversation.
type compactor struct {
	// keep is compaction.keep_recent_turns.
	keep int
	// size estimates the request the conversation would make, in tokens.
	size func(c *conversation) int
	// summarize returns the new summary from the old one and the turns
	// being dropped; it does not fail (it falls back to digest).
	summarize func(ctx context.Context, prior string, dropped []Message) string
}

// run shrinks c until it estimates at most aim tokens, or as far as the
// stages go, and returns the last stage it needed (0: none).
func (k *compactor) run(ctx context.Context, c *conversation, aim int) int {
	stage := 0
	for keep := max(k.keep, 1); ; keep-- {
		b := recentBoundary(c.msgs, keep)
		if elide(c.msgs, b) {
			stage = max(stage, 1)
		}
		if k.size(c) <= aim {
			return stage
		}
		if b > 1 {
			c.summary = k.capSummary(k.summarize(ctx, c.summary, c.msgs[1:b]), aim)
			c.msgs = append([]Message{c.taskMessage()}, c.msgs[b:]...)
			stage = max(stage, 2)
			if k.size(c) <= aim {
				return stage
			}
		}
		if keep == 1 {
			break
		}
	}
	k.fitResults(c, aim)
	return 3
}

// capSummary keeps a summary within a quarter of the aim, dropping its
// oldest lines first: the recent work matters most for going on.
func (k *compactor) capSummary(summary string, aim int) string {
	limit := int(float64(aim) / 4 * bytesPerToken)
	if len(summary) <= limit {
		return summary
	}
	cut := len(summary) - limit
	if i := strings.IndexByte(summary[cut:], '\n'); i >= 0 {
		cut += i + 1
	}
	return compactedMark + "the oldest part of this summary was dropped]\n" + summary[cut:]
}

// fitResults cuts the remaining tool results so that the conversation
// fits aim: what is left after the task, the summary and the assistant
// messages is shared among them.
func (k *compactor) fitResults(c *conversation, aim int) {
	var tools []int
	for i := 1; i < len(c.msgs); i++ {
		if c.msgs[i].Role == RoleTool {
			tools = append(tools, i)
		}
	}
	if len(tools) == 0 {
		return
	}
	saved := make([]string, len(tools))
	for j, i := range tools {
		saved[j] = c.msgs[i].Text
		c.msgs[i].Text = ""
	}
	rest := k.size(c)
	// Each cut result also carries a note of about a hundred bytes.
	share := int(float64(aim-rest)*bytesPerToken/float64(len(tools))) - 128
	for j, i := range tools {
		c.msgs[i].Text = truncateMiddle(saved[j], max(share, elidedHead))
	}
}
