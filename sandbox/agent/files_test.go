package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/sandbox"
)

func TestReadFile(t *testing.T) {
	big := strings.Repeat("0123456789abcdef\n", readCap/17+10) // just over the cap
	x, _, _ := newTestExecutor(t, map[string]string{
		"empty.txt":  "",
		"plain.txt":  "one\ntwo\nthree",
		"crlf.txt":   "one\r\ntwo\r\nthree\r\n",
		"utf8.txt":   "grüße\n日本語\n🙂\n",
		"bom.txt":    "\xEF\xBB\xBFfirst\nsecond\n",
		"binary.bin": "ELF\x00\x01\x02",
		"latin1.txt": "caf\xe9\n",
		"big.txt":    big,
		"dir/x.txt":  "x",
	})
	tests := []struct {
		name    string
		step    sandbox.Step
		content string
		lines   int
		trunc   bool
		err     string
	}{
		{name: "empty file", step: sandbox.Step{Path: "empty.txt"}, content: "", lines: 0},
		{name: "whole file without final newline", step: sandbox.Step{Path: "plain.txt"}, content: "one\ntwo\nthree", lines: 3},
		{name: "line numbers", step: sandbox.Step{Path: "plain.txt", WithLineNumbers: true}, content: "     1\tone\n     2\ttwo\n     3\tthree", lines: 3},
		{name: "window", step: sandbox.Step{Path: "plain.txt", StartLine: 2, LineCount: 1}, content: "two\n", lines: 3},
		{name: "window to the end", step: sandbox.Step{Path: "plain.txt", StartLine: 3}, content: "three", lines: 3},
		{name: "CRLF kept, counted once per line", step: sandbox.Step{Path: "crlf.txt", StartLine: 2, LineCount: 2, WithLineNumbers: true}, content: "     2\ttwo\r\n     3\tthree\r\n", lines: 3},
		{name: "UTF-8", step: sandbox.Step{Path: "utf8.txt"}, content: "grüße\n日本語\n🙂\n", lines: 3},
		{name: "byte-order mark dropped", step: sandbox.Step{Path: "bom.txt", WithLineNumbers: true}, content: "     1\tfirst\n     2\tsecond\n", lines: 2},
		{name: "window of a file over the cap", step: sandbox.Step{Path: "big.txt", StartLine: 2, LineCount: 2}, content: "0123456789abcdef\n0123456789abcdef\n", lines: strings.Count(big, "\n")},
		{name: "binary file refused", step: sandbox.Step{Path: "binary.bin"}, err: "binary file"},
		{name: "non-UTF-8 refused", step: sandbox.Step{Path: "latin1.txt"}, err: "not UTF-8 text (line 1)"},
		{name: "file over the cap refused", step: sandbox.Step{Path: "big.txt"}, err: "over the 1048576-byte read cap"},
		{name: "start past the end", step: sandbox.Step{Path: "plain.txt", StartLine: 9}, err: "startLine 9 is past the end of plain.txt (3 lines)"},
		{name: "missing file", step: sandbox.Step{Path: "nope.txt"}, err: "read nope.txt: no such file or directory"},
		{name: "missing directory", step: sandbox.Step{Path: "nodir/x.txt"}, err: "no such file or directory"},
		{name: "directory", step: sandbox.Step{Path: "dir"}, err: "dir is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tt.step.Kind = sandbox.KindReadFile
			res := x.do(tt.step)
			if tt.err != "" {
				g.Expect(res.ErrorMessage).To(ContainSubstring(tt.err))
				g.Expect(res.ExitCode).To(Equal(-1))
				return
			}
			g.Expect(res.ErrorMessage).To(BeEmpty())
			g.Expect(res.OutputContent).To(Equal(tt.content))
			g.Expect(res.TotalLines).To(Equal(tt.lines))
			g.Expect(res.Truncated).To(Equal(tt.trunc))
		})
	}
}

func TestReadFileWindowOverTheCapIsTruncated(t *testing.T) {
	g := NewWithT(t)
	line := strings.Repeat("x", 1000) + "\n"
	x, _, _ := newTestExecutor(t, map[string]string{"big.txt": strings.Repeat(line, 2000)})
	res := x.do(sandbox.Step{Kind: sandbox.KindReadFile, Path: "big.txt", StartLine: 1, LineCount: 2000})
	g.Expect(res.ErrorMessage).To(BeEmpty())
	g.Expect(res.Truncated).To(BeTrue())
	g.Expect(len(res.OutputContent)).To(BeNumerically("<=", readCap))
	g.Expect(res.TotalLines).To(Equal(2000))
}

func TestWriteFile(t *testing.T) {
	g := NewWithT(t)
	x, _, dir := newTestExecutor(t, map[string]string{"bom.txt": "\xEF\xBB\xBFold\n", "script.sh": "#!/bin/sh\n"})
	g.Expect(os.Chmod(filepath.Join(dir, "script.sh"), 0o755)).To(Succeed())

	res := x.do(sandbox.Step{Kind: sandbox.KindWriteFile, Path: "a/b/c.txt", Content: "hello\n"})
	g.Expect(res.ErrorMessage).To(BeEmpty())
	g.Expect(res.OutputBytes).To(BeEquivalentTo(6))
	g.Expect(os.ReadFile(filepath.Join(dir, "a/b/c.txt"))).To(BeEquivalentTo("hello\n"), "directories are created")

	res = x.do(sandbox.Step{Kind: sandbox.KindWriteFile, Path: "empty.txt"})
	g.Expect(res.ErrorMessage).To(BeEmpty())
	g.Expect(os.ReadFile(filepath.Join(dir, "empty.txt"))).To(BeEmpty())

	x.do(sandbox.Step{Kind: sandbox.KindWriteFile, Path: "script.sh", Content: "#!/bin/sh\necho hi\n"})
	fi, err := os.Stat(filepath.Join(dir, "script.sh"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o755)), "the mode of a replaced file is kept")

	x.do(sandbox.Step{Kind: sandbox.KindWriteFile, Path: "bom.txt", Content: "new\n"})
	g.Expect(os.ReadFile(filepath.Join(dir, "bom.txt"))).To(BeEquivalentTo("\xEF\xBB\xBFnew\n"), "the byte-order mark is kept")

	res = x.do(sandbox.Step{Kind: sandbox.KindWriteFile, Path: "huge.txt", Content: strings.Repeat("x", writeCap+1)})
	g.Expect(res.ErrorMessage).To(ContainSubstring("over the 10485760-byte write cap"))
	g.Expect(filepath.Join(dir, "huge.txt")).NotTo(BeAnExistingFile())

	res = x.do(sandbox.Step{Kind: sandbox.KindWriteFile, Path: ".", Content: "x"})
	g.Expect(res.ErrorMessage).To(ContainSubstring("is the work root"))

	entries, err := os.ReadDir(filepath.Join(dir, "a/b"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(entries).To(HaveLen(1), "no temporary file is left behind")
}

func TestEditFile(t *testing.T) {
	files := map[string]string{
		"a.go":     "x := 1\ny := 1\nz := 2\n",
		"crlf.txt": "one\r\ntwo\r\nthree\r\n",
		"utf8.txt": "grüße\n",
	}
	tests := []struct {
		name string
		step sandbox.Step
		want string // content of step.Path afterwards
		n    int
		err  string
	}{
		{name: "unique match", step: sandbox.Step{Path: "a.go", OldString: "z := 2", NewString: "z := 3"}, want: "x := 1\ny := 1\nz := 3\n", n: 1},
		{name: "ambiguous match refused", step: sandbox.Step{Path: "a.go", OldString: ":= 1", NewString: ":= 9"}, want: files["a.go"], err: "occurs 2 times in a.go"},
		{name: "all occurrences", step: sandbox.Step{Path: "a.go", OldString: ":= 1", NewString: ":= 9", ReplaceAll: true}, want: "x := 9\ny := 9\nz := 2\n", n: 2},
		{name: "not found", step: sandbox.Step{Path: "a.go", OldString: "w := 0", NewString: "w := 1"}, want: files["a.go"], err: "oldString not found in a.go"},
		{name: "no change", step: sandbox.Step{Path: "a.go", OldString: "x", NewString: "x"}, want: files["a.go"], err: "the same"},
		{name: "LF edit of a CRLF file keeps CRLF", step: sandbox.Step{Path: "crlf.txt", OldString: "one\ntwo", NewString: "1\n2"}, want: "1\r\n2\r\nthree\r\n", n: 1},
		{name: "UTF-8", step: sandbox.Step{Path: "utf8.txt", OldString: "ü", NewString: "ue"}, want: "grueße\n", n: 1},
		{name: "missing file", step: sandbox.Step{Path: "nope.go", OldString: "a", NewString: "b"}, err: "nope.go: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			x, _, dir := newTestExecutor(t, files)
			tt.step.Kind = sandbox.KindEditFile
			res := x.do(tt.step)
			if tt.err != "" {
				g.Expect(res.ErrorMessage).To(ContainSubstring(tt.err))
			} else {
				g.Expect(res.ErrorMessage).To(BeEmpty())
				g.Expect(res.Replacements).To(Equal(tt.n))
			}
			if tt.want != "" {
				g.Expect(os.ReadFile(filepath.Join(dir, tt.step.Path))).To(BeEquivalentTo(tt.want))
			}
		})
	}
}

func TestPathsOutsideTheWorkRootAreRefused(t *testing.T) {
	outside := t.TempDir()
	g := NewWithT(t)
	g.Expect(os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cret\n"), 0o644)).To(Succeed())
	x, _, dir := newTestExecutor(t, map[string]string{"in.txt": "in\n"})
	g.Expect(os.Symlink(outside, filepath.Join(dir, "outdir"))).To(Succeed())
	g.Expect(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "outfile"))).To(Succeed())
	g.Expect(os.Symlink("in.txt", filepath.Join(dir, "inlink"))).To(Succeed())

	escapes := []sandbox.Step{
		{Kind: sandbox.KindReadFile, Path: "../secret"},
		{Kind: sandbox.KindReadFile, Path: "a/../../secret"},
		{Kind: sandbox.KindReadFile, Path: filepath.Join(outside, "secret")},
		{Kind: sandbox.KindReadFile, Path: "/etc/passwd"},
		{Kind: sandbox.KindReadFile, Path: "outfile"},
		{Kind: sandbox.KindReadFile, Path: "outdir/secret"},
		{Kind: sandbox.KindWriteFile, Path: "outdir/new.txt", Content: "x"},
		{Kind: sandbox.KindWriteFile, Path: "../new.txt", Content: "x"},
		{Kind: sandbox.KindWriteFile, Path: "outfile", Content: "x"},
		{Kind: sandbox.KindEditFile, Path: "outdir/secret", OldString: "s3cret", NewString: "x"},
		{Kind: sandbox.KindListFiles, Path: "outdir"},
		{Kind: sandbox.KindListFiles, Path: ".."},
		{Kind: sandbox.KindDirectoryTree, Path: "outdir"},
		{Kind: sandbox.KindGrep, Path: "outdir", Pattern: "s3cret"},
		{Kind: sandbox.KindGrep, Path: "../", Pattern: "s3cret"},
		{Kind: sandbox.KindRun, Command: "cat", Args: []string{"secret"}, WorkingDirectory: "outdir"},
		{Kind: sandbox.KindRun, Command: "pwd", WorkingDirectory: "/tmp"},
	}
	for _, step := range escapes {
		res := x.do(step)
		g.Expect(res.ErrorMessage).NotTo(BeEmpty(), "%s %s%s must be refused", step.Kind, step.Path, step.WorkingDirectory)
		g.Expect(res.OutputContent + res.Stdout).NotTo(ContainSubstring("s3cret"))
	}
	g.Expect(os.ReadFile(filepath.Join(outside, "secret"))).To(BeEquivalentTo("s3cret\n"), "nothing outside was written")
	g.Expect(filepath.Join(outside, "new.txt")).NotTo(BeAnExistingFile())
	g.Expect(filepath.Join(dir, "..", "new.txt")).NotTo(BeAnExistingFile())

	// Inside the root, absolute paths and links that stay inside work.
	g.Expect(x.do(sandbox.Step{Kind: sandbox.KindReadFile, Path: filepath.Join(dir, "in.txt")}).OutputContent).To(Equal("in\n"))
	g.Expect(x.do(sandbox.Step{Kind: sandbox.KindReadFile, Path: "inlink"}).OutputContent).To(Equal("in\n"))
	g.Expect(x.do(sandbox.Step{Kind: sandbox.KindWriteFile, Path: "inlink", Content: "x"}).ErrorMessage).To(ContainSubstring("is a symlink to in.txt"))
}
