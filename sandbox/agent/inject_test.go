package agent

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

func TestInjectCopiesTheAgentWithMode0755AndLeavesNoTemporaryFile(t *testing.T) {
	g := NewWithT(t)
	src := filepath.Join(t.TempDir(), "agent-smith-agent")
	g.Expect(os.WriteFile(src, []byte("\x7fELF the agent"), 0o644)).To(Succeed())
	dst := filepath.Join(t.TempDir(), "shared", "agent")

	g.Expect(Inject(src, dst)).To(Succeed())

	fi, err := os.Stat(dst)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o755)))
	g.Expect(os.ReadFile(dst)).To(Equal([]byte("\x7fELF the agent")))
	entries, err := os.ReadDir(filepath.Dir(dst))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(entries).To(HaveLen(1), "no temporary copy left behind")

	g.Expect(Inject(filepath.Join(t.TempDir(), "missing"), dst)).To(MatchError(ContainSubstring("open the agent")))
}
