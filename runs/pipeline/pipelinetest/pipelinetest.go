// Package pipelinetest builds what end-to-end tests of the pipeline run
// against: real git repositories (a bare one as the remote, seeded with a
// small project whose test fails until its bug is fixed).
//
// Test support: no production package may import it (depguard). (hack/demo, a
// tool, uses it.)
package pipelinetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Calc is a one-file shell project with a bug: add.sh subtracts. `make
// test` (or `sh test.sh`) fails until it adds.
var Calc = map[string]string{
	"add.sh":    "#!/bin/sh\n# add prints the sum of its two arguments.\necho $(( $1 - $2 ))\n",
	"test.sh":   "out=$(sh add.sh 2 3)\nif [ \"$out\" = 5 ]; then echo PASS; else echo \"FAIL: add 2 3 gave $out\" >&2; exit 1; fi\n",
	"Makefile":  "test:\n\tsh test.sh\n",
	"README.md": "# calc\n\nAdds two numbers: `sh add.sh 2 3`.\n",
	"AGENTS.md": "Run `make test` before you finish.\n",
}

// Git runs git in dir with a fixed identity and returns its output; a
// failure ends the test.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Seed", "GIT_AUTHOR_EMAIL=seed@example.com",
		"GIT_COMMITTER_NAME=Seed", "GIT_COMMITTER_EMAIL=seed@example.com", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// BareRepo creates a bare repository in a temporary directory whose main
// branch holds files in one commit, and returns its path.
func BareRepo(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	bare := filepath.Join(root, "remote.git")
	work := filepath.Join(root, "seed")
	Git(t, root, "init", "-q", "--bare", "-b", "main", bare)
	Git(t, root, "init", "-q", "-b", "main", work)
	for name, content := range files {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	Git(t, work, "add", "-A")
	Git(t, work, "commit", "-q", "-m", "seed")
	Git(t, work, "push", "-q", bare, "main")
	return bare
}

// Show returns the content of path at rev in a (bare) repository, or ""
// when it does not exist there.
func Show(t testing.TB, repo, rev, path string) string {
	t.Helper()
	cmd := exec.Command("git", "show", rev+":"+path)
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// Branches lists a repository's branches.
func Branches(t testing.TB, repo string) []string {
	t.Helper()
	out := Git(t, repo, "for-each-ref", "--format=%(refname:short)", "refs/heads")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}
