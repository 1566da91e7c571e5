package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/sandbox"
)

func listing(g Gomega, res sandbox.StepResult) sandbox.Listing {
	g.Expect(res.ErrorMessage).To(BeEmpty())
	var l sandbox.Listing
	g.Expect(json.Unmarshal([]byte(res.OutputContent), &l)).To(Succeed())
	return l
}

func TestListFiles(t *testing.T) {
	g := NewWithT(t)
	x, _, dir := newTestExecutor(t, map[string]string{
		"go.mod": "module x\n", "src/a.go": "package a\n", "src/deep/b.go": "package b\n",
		"node_modules/left-pad/index.js": "x", ".git/HEAD": "ref\n",
	})
	g.Expect(os.Symlink("src", filepath.Join(dir, "link"))).To(Succeed())

	l := listing(g, x.do(sandbox.Step{Kind: sandbox.KindListFiles}))
	g.Expect(l.Entries).To(Equal([]sandbox.FileEntry{
		{Path: ".git", IsDir: true, Skipped: true}, {Path: "go.mod"}, {Path: "link"},
		{Path: "node_modules", IsDir: true, Skipped: true}, {Path: "src", IsDir: true},
	}), "depth 1 by default; symlinks are listed, not followed")

	l = listing(g, x.do(sandbox.Step{Kind: sandbox.KindListFiles, Path: "src", MaxDepth: 5, WithSizes: true}))
	ten := int64(10)
	g.Expect(l.Entries).To(Equal([]sandbox.FileEntry{
		{Path: "src/a.go", Size: &ten}, {Path: "src/deep", IsDir: true}, {Path: "src/deep/b.go", Size: &ten},
	}))

	g.Expect(x.do(sandbox.Step{Kind: sandbox.KindListFiles, Path: "nodir"}).ErrorMessage).To(ContainSubstring("no such file or directory"))
	g.Expect(x.do(sandbox.Step{Kind: sandbox.KindListFiles, Path: "go.mod"}).ErrorMessage).To(ContainSubstring("not a directory"))
}

func TestListFilesStopsAtItsEntryCap(t *testing.T) {
	g := NewWithT(t)
	files := map[string]string{}
	for i := range listCap + 5 {
		files[fmt.Sprintf("many/f%04d", i)] = ""
	}
	x, _, _ := newTestExecutor(t, files)
	res := x.do(sandbox.Step{Kind: sandbox.KindListFiles, Path: "many"})
	l := listing(g, res)
	g.Expect(l.Entries).To(HaveLen(listCap))
	g.Expect(l.Truncated).To(BeTrue())
	g.Expect(res.Truncated).To(BeTrue())
}

func TestDirectoryTree(t *testing.T) {
	g := NewWithT(t)
	x, _, _ := newTestExecutor(t, map[string]string{
		"README.md": "", "src/a.go": "", "src/deep/er/est/x.go": "", "vendor/lib/l.go": "", "src/gen/z.pb.go": "",
	})
	res := x.do(sandbox.Step{Kind: sandbox.KindDirectoryTree, ExcludeGlobs: []string{"gen"}})
	g.Expect(res.ErrorMessage).To(BeEmpty())
	g.Expect(res.OutputContent).To(Equal(`./
  README.md
  src/
    a.go
    deep/
      er/
        est/
  vendor/ (not expanded)
`))
	res = x.do(sandbox.Step{Kind: sandbox.KindDirectoryTree, Path: "src", MaxDepth: 1})
	g.Expect(res.OutputContent).To(Equal("src/\n  a.go\n  deep/\n  gen/\n"))
}
