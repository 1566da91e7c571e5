package adf

import (
	"encoding/json"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestFromTextBuildsTheDocumentJiraExpects(t *testing.T) {
	cases := []struct {
		name string
		text string
		want string
	}{
		{"one line", "queued",
			`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"queued"}]}]}`},
		{"line breaks stay in the paragraph", "a\nb",
			`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"a"},{"type":"hardBreak"},{"type":"text","text":"b"}]}]}`},
		{"blank line starts a paragraph", "a\n\nb",
			`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"a"}]},{"type":"paragraph","content":[{"type":"text","text":"b"}]}]}`},
		{"urls are links", "PR: https://github.com/acme/shop/pull/7.",
			`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"PR: "},{"type":"text","text":"https://github.com/acme/shop/pull/7","marks":[{"type":"link","attrs":{"href":"https://github.com/acme/shop/pull/7"}}]},{"type":"text","text":"."}]}]}`},
		{"fenced code", "Tests:\n\n```go\nfunc f() {}\n```\n\nDone.",
			`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Tests:"}]},{"type":"codeBlock","attrs":{"language":"go"},"content":[{"type":"text","text":"func f() {}"}]},{"type":"paragraph","content":[{"type":"text","text":"Done."}]}]}`},
		{"empty text is an empty paragraph", "",
			`{"type":"doc","version":1,"content":[{"type":"paragraph"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := json.Marshal(FromText(tc.text))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(got)).To(MatchJSON(tc.want))
		})
	}
}

func TestTextRendersWhatPeopleWriteInJira(t *testing.T) {
	// A comment as Jira Cloud's editor stores it: a mention, a quote of
	// someone else's command, a list, a link with its own text, an emoji.
	doc := `{"type":"doc","version":1,"content":[
	  {"type":"paragraph","content":[{"type":"mention","attrs":{"id":"5b10a2844c20165700ede21g","text":"@Agent Smith"}},{"type":"text","text":" answers:"}]},
	  {"type":"blockquote","content":[{"type":"paragraph","content":[{"type":"text","text":"/agent-smith fix-bug"}]}]},
	  {"type":"orderedList","attrs":{"order":3},"content":[
	    {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"use "},{"type":"text","text":"Postgres","marks":[{"type":"code"}]}]}]},
	    {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"see "},{"type":"text","text":"the docs","marks":[{"type":"link","attrs":{"href":"https://example.com/d"}}]}]},
	      {"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"nested"}]}]}]}]}]},
	  {"type":"heading","attrs":{"level":2},"content":[{"type":"text","text":"Env"}]},
	  {"type":"paragraph","content":[{"type":"emoji","attrs":{"shortName":":smile:","text":"😄"}},{"type":"text","text":" "},{"type":"inlineCard","attrs":{"url":"https://acme.atlassian.net/browse/SHOP-2"}}]},
	  {"type":"codeBlock","content":[{"type":"text","text":"make test"}]},
	  {"type":"rule"},
	  {"type":"table","content":[{"type":"tableRow","content":[
	    {"type":"tableHeader","content":[{"type":"paragraph","content":[{"type":"text","text":"a"}]}]},
	    {"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"b"}]}]}]}]},
	  {"type":"panel","attrs":{"panelType":"info"},"content":[{"type":"paragraph","content":[{"type":"status","attrs":{"text":"BLOCKED"}},{"type":"text","text":" since "},{"type":"date","attrs":{"timestamp":"1767225600000"}}]}]}
	]}`
	var n Node
	NewWithT(t).Expect(json.Unmarshal([]byte(doc), &n)).To(Succeed())
	want := strings.Join([]string{
		"@Agent Smith answers:",
		"> /agent-smith fix-bug",
		"3. use Postgres\n4. see the docs (https://example.com/d)\n   - nested",
		"## Env",
		"😄 https://acme.atlassian.net/browse/SHOP-2",
		"```\nmake test\n```",
		"---",
		"a | b",
		"BLOCKED since 2026-01-01",
	}, "\n\n")
	NewWithT(t).Expect(Text(n)).To(Equal(want))
}

func TestPlainTextSurvivesTheRoundTrip(t *testing.T) {
	for _, s := range []string{
		"queued",
		"running: tests",
		"/agent-smith fix-bug\nplease",
		"Pull requests are open:\n- https://github.com/acme/shop/pull/7\n- https://github.com/acme/web/pull/9",
		"a\n\n\nb",
		"trailing blank\n\n",
		"\nleading break",
		"Plan:\n\n```diff\n- old\n+ new\n```\n\nQuestions?",
		"```\nonly code\n```",
		"unclosed ``` fence stays text",
		"",
	} {
		NewWithT(t).Expect(Text(FromText(s))).To(Equal(s), "%q", s)
	}
}

// FuzzRoundTrip: any text survives FromText → JSON → Text once its line
// endings and invalid UTF-8 are normalized, except where a code fence decides the layout;
// and FromText never emits an empty text node, which Jira refuses.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"a", "a\nb", "a\n\nb", "x https://e.com/a). y", "```go\nx\n```", "", "\n\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc := FromText(s)
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		var back Node
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		walk(back, func(n Node) {
			if n.Type == "text" && n.Text == "" {
				t.Fatalf("empty text node in %s", raw)
			}
		})
		got := Text(back)
		norm := strings.ReplaceAll(viaJSON(t, s), "\r\n", "\n")
		if !strings.Contains(norm, fence) && got != norm {
			t.Fatalf("round trip of %q gave %q", norm, got)
		}
		if again := Text(FromText(got)); again != got {
			t.Fatalf("second round trip of %q gave %q", got, again)
		}
	})
}

// viaJSON is s as it arrives through JSON, which carries UTF-8 only (Jira
// sees the same replacement characters).
func viaJSON(t *testing.T, s string) string {
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func walk(n Node, fn func(Node)) {
	fn(n)
	for _, c := range n.Content {
		walk(c, fn)
	}
}
