package commands

import (
	"bytes"
	"context"
	"net"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/cmdline"
)

func TestSandboxAgentRefusesBadArgumentsWithStatus2(t *testing.T) {
	env := map[string]string{"SANDBOX_TOKEN": "t0ken-of-the-job"}
	getenv := envFrom(env)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no API URL", args: []string{"--job-id", "j1"}, want: "no sandbox API URL"},
		{name: "no job id", args: []string{"--api-url", "http://127.0.0.1:1"}, want: "invalid job id"},
		{name: "job id with capitals", args: []string{"--api-url", "http://127.0.0.1:1", "--job-id", "Run-1"}, want: "only [a-z0-9-] allowed"},
		{name: "plain http beyond loopback", args: []string{"--api-url", "http://10.0.0.7:8443", "--job-id", "j1"}, want: "plain http only on loopback"},
		{name: "https without the certificate", args: []string{"--api-url", "https://10.0.0.7:8443", "--job-id", "j1"}, want: "without the certificate to pin"},
		{name: "missing work root", args: []string{"--api-url", "http://127.0.0.1:1", "--job-id", "j1", "--work-root", "/nonexistent/dir"}, want: "work root"},
		{name: "unknown flag", args: []string{"--nope"}, want: "flag provided but not defined"},
		{name: "stray argument", args: []string{"--job-id", "j1", "extra"}, want: `unexpected arguments ["extra"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var stderr bytes.Buffer
			err := Agent(context.Background(), tt.args, getenv, &stderr, &stderr)
			g.Expect(err).To(Equal(cmdline.ExitError(2)))
			g.Expect(stderr.String()).To(ContainSubstring(tt.want))
		})
	}
	var stderr bytes.Buffer
	g := NewWithT(t)
	g.Expect(Agent(context.Background(), []string{"--job-id", "j1", "--api-url", "http://127.0.0.1:1"}, envFrom(nil), &stderr, &stderr)).To(Equal(cmdline.ExitError(2)))
	g.Expect(stderr.String()).To(ContainSubstring("no token: set SANDBOX_TOKEN or pass --token-stdin"))
}

func TestSandboxAgentReadsItsEnvironmentAndWaitsOutAnUnreachableAPI(t *testing.T) {
	g := NewWithT(t)
	// A port nobody listens on: the agent keeps retrying, then its idle
	// timeout ends it with status 2 (not 3: an absent API is not fatal).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	addr := l.Addr().String()
	g.Expect(l.Close()).To(Succeed())
	env := map[string]string{"SANDBOX_API_URL": "http://" + addr, "JOB_ID": "from-env", "SANDBOX_TOKEN": "t0ken-of-the-job"}
	var stderr bytes.Buffer
	err = Agent(context.Background(), []string{"--idle-timeout", "1s", "--work-root", t.TempDir()}, envFrom(env), &stderr, &stderr)
	g.Expect(err).To(Equal(cmdline.ExitError(2)))
	g.Expect(stderr.String()).To(And(ContainSubstring(`"job":"from-env"`), ContainSubstring("idle timeout")))
	g.Expect(stderr.String()).NotTo(ContainSubstring("t0ken-of-the-job"))
}

func TestSandboxGateRefusesBadArgumentsWithStatus2(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{name: "no token", args: []string{"--job-id", "j1"}, want: "no token: set SANDBOX_TOKEN"},
		{name: "credentials in the remote", env: map[string]string{"SANDBOX_TOKEN": "t"},
			args: []string{"--job-id", "j1", "--remote", "https://x:pw@git.example/r", "--branch", "agent-smith/1", "--git-dir", t.TempDir(), "--work-root", t.TempDir()},
			want: "must not carry credentials"},
		{name: "no branch", env: map[string]string{"SANDBOX_TOKEN": "t"},
			args: []string{"--job-id", "j1", "--remote", "https://git.example/r", "--git-dir", t.TempDir(), "--work-root", t.TempDir()},
			want: "invalid branch"},
		{name: "credential helper without its operation", args: []string{"credential"}, want: "usage: agent-smith sandbox-gate credential get|store|erase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var stdout, stderr bytes.Buffer
			err := Gate(context.Background(), tt.args, envFrom(tt.env), nil, &stdout, &stderr)
			g.Expect(err).To(Equal(cmdline.ExitError(2)))
			g.Expect(stderr.String()).To(ContainSubstring(tt.want))
		})
	}
}

// envFrom is an environment of env alone.
func envFrom(env map[string]string) cmdline.Env {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}
