package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

func TestInjectCopiesTheExecutableWithMode0755(t *testing.T) {
	g := NewWithT(t)
	dst := filepath.Join(t.TempDir(), "shared", "agent")
	var stderr bytes.Buffer
	g.Expect(runInject([]string{dst}, envFrom(nil), &stderr, &stderr)).To(Succeed())
	fi, err := os.Stat(dst)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o755)))
	self, err := os.Executable()
	g.Expect(err).NotTo(HaveOccurred())
	want, err := os.ReadFile(self)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.ReadFile(dst)).To(Equal(want))
	entries, err := os.ReadDir(filepath.Dir(dst))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(entries).To(HaveLen(1), "no temporary copy left behind")

	g.Expect(runInject(nil, envFrom(nil), &stderr, &stderr)).To(Equal(exitError(2)))
	g.Expect(stderr.String()).To(ContainSubstring("inject: want one PATH, got 0 arguments"))
}

func TestSandboxAgentRefusesBadArgumentsWithStatus2(t *testing.T) {
	env := map[string]string{}
	getenv := envFrom(env)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no Redis URL", args: []string{"--job-id", "j1"}, want: "no Redis URL"},
		{name: "no job id", args: []string{"--redis-url", "redis://127.0.0.1:1"}, want: "invalid job id"},
		{name: "job id with capitals", args: []string{"--redis-url", "redis://127.0.0.1:1", "--job-id", "Run-1"}, want: "only [a-z0-9-] allowed"},
		{name: "bad URL", args: []string{"--redis-url", "http://x", "--job-id", "j1"}, want: "redis url"},
		{name: "missing work root", args: []string{"--redis-url", "redis://127.0.0.1:1", "--job-id", "j1", "--work-root", "/nonexistent/dir"}, want: "work root"},
		{name: "unknown flag", args: []string{"--nope"}, want: "flag provided but not defined"},
		{name: "stray argument", args: []string{"--job-id", "j1", "extra"}, want: `unexpected arguments ["extra"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var stderr bytes.Buffer
			err := runSandboxAgent(context.Background(), tt.args, getenv, &stderr, &stderr)
			g.Expect(err).To(Equal(exitError(2)))
			g.Expect(stderr.String()).To(ContainSubstring(tt.want))
		})
	}
}

func TestSandboxAgentReadsItsEnvironmentAndWaitsOutAnUnreachableRedis(t *testing.T) {
	g := NewWithT(t)
	// A port nobody listens on: the agent keeps retrying, then its idle
	// timeout ends it with status 2 (not 3: an absent Redis is not fatal).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	addr := l.Addr().String()
	g.Expect(l.Close()).To(Succeed())
	env := map[string]string{"REDIS_URL": "redis://" + addr, "JOB_ID": "from-env", "REDIS_PREFIX": "test:"}
	var stderr bytes.Buffer
	err = runSandboxAgent(context.Background(), []string{"--idle-timeout", "1s", "--work-root", t.TempDir()}, envFrom(env), &stderr, &stderr)
	g.Expect(err).To(Equal(exitError(2)))
	g.Expect(stderr.String()).To(And(ContainSubstring(`"job":"from-env"`), ContainSubstring("idle timeout")))
}
