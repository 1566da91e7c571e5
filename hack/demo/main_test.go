package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestDemoTurnsTheTicketIntoAPullRequestOfflineInItsDirectory(t *testing.T) {
	g := NewWithT(t)
	// A shell set up for a real deployment: the demo reaches none of it,
	// and replays its script rather than calling a model.
	t.Setenv("REDIS_URL", "redis://127.0.0.1:1")
	t.Setenv("SANDBOX_TYPE", "kubernetes")
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-such-kubeconfig"))
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("ANTHROPIC_API_KEY", "")
	root := testenv.RepoRoot()
	dir := filepath.Join(t.TempDir(), "demo")

	var out bytes.Buffer
	// The agent-smith binary `make demo` runs, built for the tests.
	g.Expect(run(&out, root, testenv.AgentBinary(t), dir)).To(Succeed(), out.String())
	g.Expect(out.String()).To(And(
		ContainSubstring("agent-smith run (agent: replay)"),
		ContainSubstring("+echo $(( $1 + $2 ))"),
		MatchRegexp(`#\d+ .*\(agent-smith/1 → main, open\)`),
		ContainSubstring("#1 is closed"),
	))
	// The ticket got the status comment and a notice of the end that does
	// not repeat it.
	g.Expect(strings.Count(out.String(), "\ncomment by ")).To(Equal(2), out.String())
	g.Expect(strings.Count(out.String(), "### agent-smith finished")).To(Equal(1), out.String())
	// The sandboxes worked in the demo's own temporary directory and left
	// nothing there.
	left, err := os.ReadDir(filepath.Join(dir, "tmp"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(left).To(BeEmpty())
	plans, err := filepath.Glob(filepath.Join(dir, "runs", "*", "plan.md"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(plans).To(HaveLen(1))
}
