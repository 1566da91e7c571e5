package cli

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// Every command answers -h and --help alike: its help on stdout, written
// like the top-level one, and status 0. Defaults taken from the
// environment are named, never shown: REDIS_URL may hold a password.
func TestEveryCommandHelpExitsZeroOnStdout(t *testing.T) {
	env := map[string]string{"REDIS_URL": "redis://:hunter2-redis-password@redis:6379", "AGENTSMITH_CONFIG": "/etc/secret-path.yml"}
	commands := map[string][]string{
		"serve":           {"Flags:", "-c, -f, --config FILE", "--addr ADDRESS", ":8080", "--admin-addr ADDRESS", "127.0.0.1:8081", "--sandbox KIND", "$SANDBOX_TYPE)", "Environment:", "REDIS_URL"},
		"run":             {"run --project PROJECT --ticket ID [flags]", "-c, -f, --config FILE", "$AGENTSMITH_CONFIG)", "--pipeline NAME", "Exit status:"},
		"config validate": {"-c, -f, --config FILE", "Exit status:"},
		"config print":    {"-c, -f, --config FILE", "secrets redacted"},
		"sandbox-agent":   {"--api-url URL", "(default $SANDBOX_API_URL)", "--idle-timeout DURATION", "15m0s", "SANDBOX_TOKEN", "Exit status:"},
		"sandbox-gate":    {"--remote URL", "--branch BRANCH", "(default $JOB_ID)", "credential get|store|erase", "Exit status:"},
		"inject":          {"agent-smith inject PATH"},
		"version":         {"agent-smith version"},
		"runs list":       {"--state STATES", "--server URL", "(default $AGENTSMITH_SERVER)", "-o, --output FORMAT", "Exit status:"},
		"runs get":        {"runs get ID [flags]", "--token TOKEN", "(default $AGENTSMITH_TOKEN)"},
		"runs logs":       {"-f, --follow", "4 it was cancelled"},
		"runs cancel":     {"--reason VALUE"},
		"runs retry":      {"an admin token"},
	}
	for name, want := range commands {
		for _, flag := range []string{"-h", "--help"} {
			t.Run(name+" "+flag, func(t *testing.T) {
				g := NewWithT(t)
				stdout, stderr, err := runCLI(t, env, append(strings.Fields(name), flag)...)
				g.Expect(exitCode(err)).To(Equal(0), stderr)
				g.Expect(stderr).To(BeEmpty())
				g.Expect(stdout).To(HavePrefix("agent-smith " + name + " "))
				g.Expect(stdout).To(ContainSubstring("\nUsage:\n  agent-smith " + name))
				for _, w := range want {
					g.Expect(stdout).To(ContainSubstring(w))
				}
				g.Expect(stdout).NotTo(Or(ContainSubstring("hunter2"), ContainSubstring("secret-path")))
			})
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"config", "-h"}, {"runs", "-h"}} {
		stdout, _, err := runCLI(t, nil, args...)
		if exitCode(err) != 0 || !strings.Contains(stdout, "\nUsage:\n") {
			t.Errorf("%v: status %d, stdout %q", args, exitCode(err), stdout)
		}
	}
}

// A flag a command does not have is refused with status 2, what is wrong
// and the command's help on stderr.
func TestUnknownFlagShowsTheHelpOnStderrWithStatus2(t *testing.T) {
	g := NewWithT(t)
	stdout, stderr, err := runCLI(t, nil, "serve", "--admin", "x")
	g.Expect(exitCode(err)).To(Equal(2))
	g.Expect(stdout).To(BeEmpty())
	g.Expect(stderr).To(And(ContainSubstring("flag provided but not defined: -admin"), ContainSubstring("Usage:\n  agent-smith serve")))
}

func TestVersionNamesTheImageSandboxesInjectFrom(t *testing.T) {
	g := NewWithT(t)
	stdout, _, err := runCLI(t, nil, "version")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stdout).To(MatchRegexp(`^agent-smith dev\nimage ghcr\.io/agent-smith/agent-smith:dev\n$`))
	_, stderr, err := runCLI(t, nil, "version", "extra")
	g.Expect(exitCode(err)).To(Equal(2))
	g.Expect(stderr).To(ContainSubstring(`version: unexpected argument "extra"`))
}
