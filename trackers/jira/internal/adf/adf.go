// Package adf converts between plain text and the Atlassian Document Format
// (ADF), the JSON document tree Jira Cloud's REST API v3 takes and returns
// for issue descriptions and comments. agent-smith writes plain text (its
// status comments, the completion comment) and reads plain text (the ticket
// body and the comments a plan's questions are answered in), so only the
// conversion matters, not the rich formatting.
//
// It imports no package of agent-smith.
package adf

import (
	"regexp"
	"strings"
)

// Node is one node of an ADF document: the doc itself, a block (paragraph,
// codeBlock, …) or an inline node (text, hardBreak, mention, …).
type Node struct {
	Type    string         `json:"type"`
	Version int            `json:"version,omitempty"`
	Text    string         `json:"text,omitempty"`
	Attrs   map[string]any `json:"attrs,omitempty"`
	Marks   []Mark         `json:"marks,omitempty"`
	Content []Node         `json:"content,omitempty"`
}

// Mark formats a text node (link, strong, code, …).
type Mark struct {
	Type  string         `json:"type"`
	Attrs map[string]any `json:"attrs,omitempty"`
}

// fence opens and closes a code block in plain text, as in Markdown.
const fence = "```"

// FromText builds the ADF document of plain text. Blocks are separated by a
// blank line; a line break inside a block is a hardBreak; ``` fences make a
// codeBlock; http(s) URLs become links. Text renders back to s for every s
// whose code fences are closed and not glued to the text around them.
func FromText(s string) Node {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var blocks []Node
	var text []string
	flush := func() {
		if text == nil {
			return
		}
		for _, p := range strings.Split(strings.Join(text, "\n"), "\n\n") {
			blocks = append(blocks, paragraph(p))
		}
		text = nil
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		end := closingFence(lines, i)
		if end < 0 {
			text = append(text, line)
			continue
		}
		// The blank line that separates the fence from the text before it
		// is the block separator, not content.
		if n := len(text); n > 0 && text[n-1] == "" {
			text = text[:n-1]
		}
		flush()
		blocks = append(blocks, codeBlock(strings.TrimSpace(line[len(fence):]), lines[i+1:end]))
		i = end
		if i+1 < len(lines) && lines[i+1] == "" {
			i++
		}
	}
	flush()
	return Node{Type: "doc", Version: 1, Content: blocks}
}

// closingFence is the index of the line closing a code block opened at
// lines[i], or -1 when lines[i] opens none (not a fence, or never closed).
func closingFence(lines []string, i int) int {
	if !strings.HasPrefix(lines[i], fence) {
		return -1
	}
	for j := i + 1; j < len(lines); j++ {
		if strings.TrimSpace(lines[j]) == fence {
			return j
		}
	}
	return -1
}

func codeBlock(language string, lines []string) Node {
	n := Node{Type: "codeBlock"}
	if language != "" {
		n.Attrs = map[string]any{"language": language}
	}
	if code := strings.Join(lines, "\n"); code != "" {
		n.Content = []Node{{Type: "text", Text: code}}
	}
	return n
}

func paragraph(p string) Node {
	n := Node{Type: "paragraph"}
	for i, line := range strings.Split(p, "\n") {
		if i > 0 {
			n.Content = append(n.Content, Node{Type: "hardBreak"})
		}
		n.Content = append(n.Content, linkify(line)...)
	}
	return n
}

var urlPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// linkify splits a line into text nodes, URLs carrying a link mark. ADF
// forbids empty text nodes, so an empty line yields none.
func linkify(line string) []Node {
	var out []Node
	rest := line
	for rest != "" {
		loc := urlPattern.FindStringIndex(rest)
		if loc == nil {
			out = append(out, Node{Type: "text", Text: rest})
			break
		}
		url := strings.TrimRight(rest[loc[0]:loc[1]], ".,;:!?)]}'")
		if loc[0] > 0 {
			out = append(out, Node{Type: "text", Text: rest[:loc[0]]})
		}
		out = append(out, Node{Type: "text", Text: url, Marks: []Mark{{Type: "link", Attrs: map[string]any{"href": url}}}})
		rest = rest[loc[0]+len(url):]
	}
	return out
}
