package agent

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/sandbox"
)

var grepTree = map[string]string{
	"src/a.go":                 "package a\nfunc Foo() {}\n// foo bar\nfunc bar() {}\n",
	"src/sub/b.txt":            "Foo here\nnothing\nFoo again\n",
	"crlf.txt":                 "Foo\r\n",
	"build":                    "Foo: a script named like a build directory\n",
	".github/workflows/ci.yml": "run: Foo\n",
	"node_modules/x/index.js":  "Foo in a dependency\n",
	".git/config":              "Foo\n",
	"dist/out.js":              "Foo\n",
	"vendor/v.go":              "Foo\n",
	"blob.bin":                 "Foo\x00\x01\x02",
	"large.txt":                "Foo\n" + strings.Repeat("x", grepFileCap),
}

func TestGrepEnginesAgree(t *testing.T) {
	rg, err := exec.LookPath("rg")
	if err != nil {
		t.Fatal("rg is not installed: `apt-get install -y ripgrep` (the agent prefers it when a toolchain image has it)")
	}
	m := func(p string, line int, text string) sandbox.GrepMatch {
		return sandbox.GrepMatch{Path: p, Line: line, Text: text}
	}
	c := func(p string, line int, text string) sandbox.GrepMatch {
		return sandbox.GrepMatch{Path: p, Line: line, Text: text, Context: true}
	}
	tests := []struct {
		name string
		step sandbox.Step
		want sandbox.GrepResult
		err  string
	}{
		{name: "content, skipping deps, VCS, build output, binary and large files",
			step: sandbox.Step{Pattern: "Foo"},
			want: sandbox.GrepResult{Mode: sandbox.GrepContent, Matches: []sandbox.GrepMatch{
				m(".github/workflows/ci.yml", 1, "run: Foo"), m("build", 1, "Foo: a script named like a build directory"),
				m("crlf.txt", 1, "Foo"), m("src/a.go", 2, "func Foo() {}"), m("src/sub/b.txt", 1, "Foo here"), m("src/sub/b.txt", 3, "Foo again"),
			}}},
		{name: "files", step: sandbox.Step{Pattern: "Foo", OutputMode: sandbox.GrepFiles, Path: "src"},
			want: sandbox.GrepResult{Mode: sandbox.GrepFiles, Files: []string{"src/a.go", "src/sub/b.txt"}}},
		{name: "counts", step: sandbox.Step{Pattern: "Foo", OutputMode: sandbox.GrepCounts, Path: "src"},
			want: sandbox.GrepResult{Mode: sandbox.GrepCounts, Counts: []sandbox.GrepCount{{Path: "src/a.go", Count: 1}, {Path: "src/sub/b.txt", Count: 2}}}},
		{name: "case-insensitive", step: sandbox.Step{Pattern: "foo", CaseInsensitive: true, Path: "src/a.go"},
			want: sandbox.GrepResult{Mode: sandbox.GrepContent, Matches: []sandbox.GrepMatch{m("src/a.go", 2, "func Foo() {}"), m("src/a.go", 3, "// foo bar")}}},
		{name: "glob on the base name", step: sandbox.Step{Pattern: "Foo", Glob: "*.txt", OutputMode: sandbox.GrepFiles},
			want: sandbox.GrepResult{Mode: sandbox.GrepFiles, Files: []string{"crlf.txt", "src/sub/b.txt"}}},
		{name: "glob on the path", step: sandbox.Step{Pattern: "Foo", Glob: "src/**/*.txt", OutputMode: sandbox.GrepFiles},
			want: sandbox.GrepResult{Mode: sandbox.GrepFiles, Files: []string{"src/sub/b.txt"}}},
		{name: "excluded globs", step: sandbox.Step{Pattern: "Foo", ExcludeGlobs: []string{"sub", "*.yml", "build"}, OutputMode: sandbox.GrepFiles},
			want: sandbox.GrepResult{Mode: sandbox.GrepFiles, Files: []string{"crlf.txt", "src/a.go"}}},
		{name: "context lines", step: sandbox.Step{Pattern: "nothing", ContextLines: 1, Path: "src/sub"},
			want: sandbox.GrepResult{Mode: sandbox.GrepContent, Matches: []sandbox.GrepMatch{
				c("src/sub/b.txt", 1, "Foo here"), m("src/sub/b.txt", 2, "nothing"), c("src/sub/b.txt", 3, "Foo again")}}},
		{name: "head limit", step: sandbox.Step{Pattern: "Foo", HeadLimit: 2},
			want: sandbox.GrepResult{Mode: sandbox.GrepContent, Truncated: true, Matches: []sandbox.GrepMatch{
				m(".github/workflows/ci.yml", 1, "run: Foo"), m("build", 1, "Foo: a script named like a build directory")}}},
		{name: "explicitly inside a skipped directory", step: sandbox.Step{Pattern: "Foo", Path: "vendor", OutputMode: sandbox.GrepFiles},
			want: sandbox.GrepResult{Mode: sandbox.GrepFiles, Files: []string{"vendor/v.go"}}},
		{name: "no match", step: sandbox.Step{Pattern: "Bar"}, want: sandbox.GrepResult{Mode: sandbox.GrepContent}},
		{name: "invalid pattern", step: sandbox.Step{Pattern: "(unclosed"}, err: "invalid pattern"},
		{name: "missing directory", step: sandbox.Step{Pattern: "x", Path: "nope"}, err: "no such file or directory"},
	}
	x, _, _ := newTestExecutor(t, grepTree)
	for _, engine := range []struct{ name, rg string }{{"ripgrep", rg}, {"go", ""}} {
		for _, tt := range tests {
			t.Run(engine.name+"/"+tt.name, func(t *testing.T) {
				g := NewWithT(t)
				x.rg = engine.rg
				tt.step.Kind = sandbox.KindGrep
				res := x.do(tt.step)
				if tt.err != "" {
					g.Expect(res.ErrorMessage).To(ContainSubstring(tt.err))
					return
				}
				g.Expect(res.ErrorMessage).To(BeEmpty())
				var got sandbox.GrepResult
				g.Expect(json.Unmarshal([]byte(res.OutputContent), &got)).To(Succeed())
				tt.want.Engine = engine.name
				g.Expect(got).To(Equal(tt.want))
				g.Expect(res.Truncated).To(Equal(tt.want.Truncated))
			})
		}
	}
}
