package azuredevops

import (
	"html"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	xhtml "golang.org/x/net/html"
)

// blockTags end a line of text before and after them.
var blockTags = map[string]bool{
	"address": true, "article": true, "blockquote": true, "dd": true, "div": true, "dl": true, "dt": true,
	"figcaption": true, "figure": true, "footer": true, "h1": true, "h2": true, "h3": true, "h4": true,
	"h5": true, "h6": true, "header": true, "hr": true, "li": true, "ol": true, "p": true, "pre": true,
	"section": true, "table": true, "tr": true, "ul": true,
}

// htmlToText turns the HTML of a work item field (System.Description,
// System.History, an html-format comment) into the plain text a person
// reads: block elements and <br> become line breaks, entities are decoded,
// whitespace collapses as a browser collapses it except inside <pre>, and
// scripts and styles are dropped. Comment keywords are matched on these
// lines, so "<div>/agent-smith fix-bug</div>" starts a line. Text without
// any markup is taken as it is, line breaks included: fields written
// through the API often hold plain text.
func htmlToText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return strings.TrimSpace(s)
	}
	var lines []string
	var line strings.Builder
	endLine := func(force bool) {
		if line.Len() > 0 || force {
			lines = append(lines, strings.TrimRight(line.String(), " "))
			line.Reset()
		}
	}
	pre, skip := 0, 0
	z := xhtml.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			endLine(false)
			return joinLines(lines)
		case xhtml.TextToken:
			if skip > 0 {
				continue
			}
			text := strings.ReplaceAll(string(z.Text()), "\u00a0", " ")
			if pre > 0 {
				for i, part := range strings.Split(text, "\n") {
					if i > 0 {
						endLine(true)
					}
					line.WriteString(part)
				}
				continue
			}
			text = collapseSpace(text)
			if line.Len() == 0 || strings.HasSuffix(line.String(), " ") {
				text = strings.TrimLeft(text, " ")
			}
			line.WriteString(text)
		case xhtml.StartTagToken, xhtml.EndTagToken, xhtml.SelfClosingTagToken:
			name, _ := z.TagName()
			switch tag := string(name); {
			case tag == "script" || tag == "style":
				skip = nest(skip, tt)
			case tag == "br":
				endLine(true)
			case blockTags[tag]:
				endLine(false)
				if tag == "pre" {
					pre = nest(pre, tt)
				}
			}
		}
	}
}

// nest counts an element's depth across its start and end tags.
func nest(depth int, tt xhtml.TokenType) int {
	switch {
	case tt == xhtml.StartTagToken:
		return depth + 1
	case tt == xhtml.EndTagToken && depth > 0:
		return depth - 1
	}
	return depth
}

// collapseSpace turns every run of whitespace into one space.
func collapseSpace(s string) string {
	words := strings.Fields(s)
	out := strings.Join(words, " ")
	if s == "" {
		return ""
	}
	if len(words) == 0 {
		return " "
	}
	if strings.TrimLeft(s, " \t\r\n\f") != s {
		out = " " + out
	}
	if strings.TrimRight(s, " \t\r\n\f") != s {
		out += " "
	}
	return out
}

// joinLines joins lines, keeping at most one blank line in a row and none
// at either end.
func joinLines(lines []string) string {
	var out []string
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			if len(out) == 0 || out[len(out)-1] == "" {
				continue
			}
			l = ""
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n")
}

// markdownToHTML renders a comment written in Markdown (what agent-smith
// writes: headings, tables, lists) for an HTML field (System.History),
// which Azure DevOps shows as HTML, not as Markdown. Raw HTML in the text
// is not passed through: Azure DevOps sanitizes it anyway, and comments
// quote model output.
func markdownToHTML(s string) string {
	var b strings.Builder
	if err := historyMarkdown.Convert([]byte(s), &b); err != nil {
		// Convert fails only when the writer does; a strings.Builder
		// does not.
		return "<div>" + html.EscapeString(s) + "</div>"
	}
	return b.String()
}

var historyMarkdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// ownMark ends every comment agent-smith writes: zero-width characters,
// invisible when Azure DevOps renders the comment, that survive its HTML
// sanitizer and Markdown renderer because they are text. Service hooks
// carry no sign of which client wrote a comment, and the personal access
// token often belongs to a person whose own comments must still count, so
// the mark is how a delivery of agent-smith's own comment (its questions
// to the ticket, say) is told apart from an answer.
const ownMark = "\u200b\u2060\u200b"

// markOwn appends ownMark to a comment body: on its last line, or on a
// line of its own after a closing code fence, which a trailing character
// would break.
func markOwn(body string) string {
	body = strings.TrimRight(body, "\n")
	last := body[strings.LastIndex(body, "\n")+1:]
	if t := strings.TrimSpace(last); strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
		return body + "\n" + ownMark
	}
	return body + ownMark
}

// isOwn reports whether a comment's text carries ownMark.
func isOwn(text string) bool { return strings.Contains(text, ownMark) }

// unmarkOwn is text without ownMark (and the line break markOwn may
// have added for it).
func unmarkOwn(text string) string {
	if !isOwn(text) {
		return text
	}
	return strings.TrimRight(strings.ReplaceAll(text, ownMark, ""), "\n ")
}
