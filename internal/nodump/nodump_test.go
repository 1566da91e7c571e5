//go:build linux

package nodump_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/nodump"
)

const helperEnv = "NODUMP_TEST_HELPER"

// TestMain lets the test binary play the process that holds a secret:
// with NODUMP_TEST_HELPER=apply it makes itself non-dumpable first, with
// =keep it stays as it started; it says "ready" and waits for stdin to
// close.
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "apply":
		if err := nodump.Apply(); err != nil {
			os.Exit(3)
		}
		fallthrough
	case "keep":
		os.Stdout.WriteString("ready\n")
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestApplyMakesTheProcessNonDumpable(t *testing.T) {
	g := NewWithT(t)
	g.Expect(nodump.Dumpable()).To(BeTrue())
	g.Expect(nodump.Apply()).To(Succeed())
	g.Expect(nodump.Dumpable()).To(BeFalse())
}

// A process of the same uid reads the environment of a dumpable process,
// and is refused that of one that applied nodump. As root (CI) both run
// as nobody: root may read any process's environment.
func TestHostileSameUIDProcessCannotReadTheEnvironmentOfANonDumpableOne(t *testing.T) {
	bin := executableCopy(t)
	for _, tc := range []struct {
		mode     string
		readable bool
	}{{"keep", true}, {"apply", false}} {
		t.Run(tc.mode, func(t *testing.T) {
			g := NewWithT(t)
			holder := exec.Command(bin)
			holder.Env = []string{helperEnv + "=" + tc.mode, "HELD_SECRET=s3cret-value-of-the-holder"}
			holder.SysProcAttr = asNobody()
			stdin, err := holder.StdinPipe()
			g.Expect(err).NotTo(HaveOccurred())
			stdout, err := holder.StdoutPipe()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(holder.Start()).To(Succeed())
			t.Cleanup(func() { _ = stdin.Close(); _ = holder.Wait() })
			line, err := bufio.NewReader(stdout).ReadString('\n')
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(line).To(Equal("ready\n"))

			reader := exec.Command("cat", "/proc/"+strconv.Itoa(holder.Process.Pid)+"/environ")
			reader.SysProcAttr = asNobody()
			out, err := reader.CombinedOutput()
			if tc.readable {
				g.Expect(err).NotTo(HaveOccurred(), string(out))
				g.Expect(string(out)).To(ContainSubstring("s3cret-value-of-the-holder"), "the control: a dumpable process is readable")
				return
			}
			g.Expect(err).To(HaveOccurred())
			g.Expect(string(out)).To(And(ContainSubstring("Permission denied"), Not(ContainSubstring("s3cret"))))
		})
	}
}

// asNobody runs a process as nobody when the test runs as root, else as
// the test's own uid.
func asNobody() *syscall.SysProcAttr {
	if os.Geteuid() != 0 {
		return nil
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
}

// executableCopy is the test binary in a directory every uid may enter:
// go test builds it in a private one.
func executableCopy(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "nodump-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	bin := filepath.Join(dir, "holder")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}
