package adf

import (
	"strconv"
	"strings"
	"time"
)

// Text renders an ADF document (or any node) as plain text: blocks apart
// by a blank line, hardBreaks as line breaks, code blocks fenced with ```,
// list items as "- " or "1. ", quotes with "> " on every line (so a quoted
// command is not mistaken for one), mentions, emoji, dates and cards by
// their text. Nodes it does not know contribute the text of their content.
func Text(n Node) string {
	switch {
	case n.Type == "doc":
		return strings.Join(blocks(n.Content), "\n\n")
	case isInline(n):
		return inline([]Node{n})
	}
	return block(n)
}

// blocks renders block nodes; inline runs at block level (which lenient
// producers emit) render as one block each.
func blocks(ns []Node) []string {
	var out []string
	for i := 0; i < len(ns); {
		if isInline(ns[i]) {
			j := i
			for j < len(ns) && isInline(ns[j]) {
				j++
			}
			out = append(out, inline(ns[i:j]))
			i = j
			continue
		}
		out = append(out, block(ns[i]))
		i++
	}
	return out
}

func block(n Node) string {
	switch n.Type {
	case "paragraph":
		return inline(n.Content)
	case "heading":
		level := max(1, min(6, intAttr(n, "level", 1)))
		return strings.Repeat("#", level) + " " + inline(n.Content)
	case "codeBlock":
		open := fence + stringAttr(n, "language") + "\n"
		if code := inline(n.Content); code != "" {
			return open + code + "\n" + fence
		}
		return open + fence
	case "blockquote":
		return prefixLines(strings.Join(blocks(n.Content), "\n\n"), "> ", ">")
	case "bulletList", "orderedList":
		return list(n)
	case "rule":
		return "---"
	case "table":
		rows := make([]string, 0, len(n.Content))
		for _, row := range n.Content {
			cells := make([]string, 0, len(row.Content))
			for _, cell := range row.Content {
				cells = append(cells, strings.Join(blocks(cell.Content), " "))
			}
			rows = append(rows, strings.Join(cells, " | "))
		}
		return strings.Join(rows, "\n")
	case "mediaSingle", "mediaGroup", "media":
		return "[attachment]"
	}
	return strings.Join(blocks(n.Content), "\n\n")
}

func list(n Node) string {
	number := intAttr(n, "order", 1)
	items := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		marker := "- "
		if n.Type == "orderedList" {
			marker = strconv.Itoa(number) + ". "
			number++
		}
		first, rest, _ := strings.Cut(strings.Join(blocks(item.Content), "\n"), "\n")
		if rest != "" {
			rest = "\n" + prefixLines(rest, strings.Repeat(" ", len(marker)), "")
		}
		items = append(items, marker+first+rest)
	}
	return strings.Join(items, "\n")
}

// prefixLines puts prefix before every line of s, or empty before lines
// that are empty.
func prefixLines(s, prefix, empty string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = empty
		} else {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

func inline(ns []Node) string {
	var b strings.Builder
	for _, n := range ns {
		switch n.Type {
		case "text":
			b.WriteString(markedText(n))
		case "hardBreak":
			b.WriteByte('\n')
		case "mention":
			if t := stringAttr(n, "text"); t != "" {
				b.WriteString(t)
			} else {
				b.WriteString("@" + stringAttr(n, "id"))
			}
		case "emoji":
			if t := stringAttr(n, "text"); t != "" {
				b.WriteString(t)
			} else {
				b.WriteString(stringAttr(n, "shortName"))
			}
		case "inlineCard", "blockCard", "embedCard":
			b.WriteString(stringAttr(n, "url"))
		case "status":
			b.WriteString(stringAttr(n, "text"))
		case "date":
			b.WriteString(date(stringAttr(n, "timestamp")))
		default:
			if len(n.Content) > 0 {
				b.WriteString(strings.Join(blocks(n.Content), "\n"))
			} else {
				b.WriteString(n.Text)
			}
		}
	}
	return b.String()
}

// markedText is a text node's text; a link whose text is not its address
// keeps the address in parentheses, so a reader still sees where it points.
func markedText(n Node) string {
	for _, m := range n.Marks {
		if m.Type != "link" {
			continue
		}
		if href, _ := m.Attrs["href"].(string); href != "" && href != n.Text {
			return n.Text + " (" + href + ")"
		}
	}
	return n.Text
}

func date(ms string) string {
	v, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return ms
	}
	return time.UnixMilli(v).UTC().Format(time.DateOnly)
}

func isInline(n Node) bool {
	switch n.Type {
	case "text", "hardBreak", "mention", "emoji", "inlineCard", "status", "date", "mediaInline", "placeholder", "inlineExtension":
		return true
	}
	return false
}

func stringAttr(n Node, key string) string {
	switch v := n.Attrs[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func intAttr(n Node, key string, def int) int {
	if v, ok := n.Attrs[key].(float64); ok && v >= 1 && v < 1e6 {
		return int(v)
	}
	if v, ok := n.Attrs[key].(int); ok && v >= 1 && v < 1e6 {
		return v
	}
	return def
}
