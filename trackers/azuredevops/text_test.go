package azuredevops

import (
	"encoding/json"
	"testing"
)

func TestHTMLToTextReadsWorkItemFields(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain text keeps its lines", "Steps:\n1. open\n2. save", "Steps:\n1. open\n2. save"},
		{"divs are lines", "<div>/agent-smith fix-bug</div><div>please</div>", "/agent-smith fix-bug\nplease"},
		{"an empty div with a break is a blank line", "<div>Steps</div><div><br></div><div>1. open</div>", "Steps\n\n1. open"},
		{"entities are decoded", "<p>a &lt; b &amp;&amp; c&nbsp;&gt; d</p>", "a < b && c > d"},
		{"markup whitespace collapses", "<div>\n  Saving   a\ttodo\n</div>", "Saving a todo"},
		{"inline tags join words", "<div>Use <b>UTC</b> <i>everywhere</i>.</div>", "Use UTC everywhere."},
		{"list items are lines", "<ol><li>one</li><li>two</li></ol>", "one\ntwo"},
		{"pre keeps its lines", "<pre>a  b\n  c</pre>", "a  b\n  c"},
		{"scripts and styles are dropped", "<style>p{}</style><div>x</div><script>alert(1)</script>", "x"},
		{"blank lines collapse to one", "<p>a</p><br><br><br><p>b</p>", "a\n\nb"},
		{"a keyword after a break starts a line", "thanks<br>/agent-smith add-feature", "thanks\n/agent-smith add-feature"},
		{"unclosed markup is read as far as it goes", "<div>half <b>bold", "half bold"},
		{"empty", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := htmlToText(tc.in); got != tc.want {
				t.Fatalf("htmlToText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestOwnMarkSurvivesTheRoundTrip(t *testing.T) {
	cases := []struct {
		name, body, marked string
	}{
		{"one line", "queued", "queued" + ownMark},
		{"trailing newlines", "done\n\n", "done" + ownMark},
		{"closing code fence", "log:\n```\nok\n```", "log:\n```\nok\n```\n" + ownMark},
		{"tilde fence", "~~~\nx\n~~~", "~~~\nx\n~~~\n" + ownMark},
		{"empty", "", ownMark},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := markOwn(tc.body)
			if got != tc.marked {
				t.Fatalf("markOwn(%q) = %q, want %q", tc.body, got, tc.marked)
			}
			if !isOwn(got) || isOwn(tc.body) {
				t.Fatalf("isOwn does not tell %q from %q", got, tc.body)
			}
			if back := unmarkOwn(htmlToText(markdownToHTML(got))); back != htmlToText(markdownToHTML(trimNewlines(tc.body))) {
				t.Fatalf("through HTML and back: %q", back)
			}
		})
	}
}

func trimNewlines(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}

func TestIdentitiesReadInBothShapes(t *testing.T) {
	cases := []struct {
		json string
		want identity
	}{
		{`"Dana Dev <dana@acme.example>"`, identity{DisplayName: "Dana Dev", UniqueName: "dana@acme.example"}},
		{`"Zhang <LUJING-DEVOPS\\zhang>"`, identity{DisplayName: "Zhang", UniqueName: `LUJING-DEVOPS\zhang`}},
		{`"dana@acme.example"`, identity{DisplayName: "dana@acme.example", UniqueName: "dana@acme.example"}},
		{`"Project Collection Build Service"`, identity{DisplayName: "Project Collection Build Service"}},
		{`{"displayName":"Dana Dev","uniqueName":"dana@acme.example","id":"9d1e"}`, identity{ID: "9d1e", DisplayName: "Dana Dev", UniqueName: "dana@acme.example"}},
		{`null`, identity{}},
	}
	for _, tc := range cases {
		var got identity
		if err := json.Unmarshal([]byte(tc.json), &got); err != nil {
			t.Fatalf("%s: %v", tc.json, err)
		}
		if got != tc.want {
			t.Errorf("%s = %+v, want %+v", tc.json, got, tc.want)
		}
	}
}

func TestTagsAreSemicolonSeparated(t *testing.T) {
	got := splitTags(" bug;agent-smith ;; Priority: High;")
	want := []string{"bug", "agent-smith", "Priority: High"}
	if len(got) != len(want) {
		t.Fatalf("splitTags = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("splitTags = %q, want %q", got, want)
		}
	}
	if s := joinTags(want); s != "bug; agent-smith; Priority: High" {
		t.Fatalf("joinTags = %q", s)
	}
	if !sameTags([]string{"Bug", "ui"}, []string{"ui", "bug"}) || sameTags([]string{"bug"}, []string{"bug", "ui"}) {
		t.Fatal("sameTags compares sets without regard to case")
	}
}
