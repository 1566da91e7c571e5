package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs/pipeline/pipelinetest"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

// The test binary doubles as the agent-smith binary: the local sandboxes
// `run` starts are this executable with the sandbox-agent command, and
// their gates' credential helper is its sandbox-gate command. It runs Main
// as main does, so that an agent stops on SIGTERM as shipped.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == "sandbox-agent" || os.Args[1] == "sandbox-gate" || os.Args[1] == "inject") {
		os.Exit(asMain())
	}
	testenv.Main(m)
}

// asMain is what main does, for this test binary playing agent-smith.
func asMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return ExitCode(Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr), os.Stderr)
}

const runToken = "ghp_runCommandTokenNeverPrinted0123456789"

const runCommandConfig = `
agents:
  replay: {type: scripted, script: %[2]s}
repos:
  calc: {type: github, url: "%[1]s/acme/calc", auth: gh, test_command: sh test.sh}
trackers:
  issues: {type: github, url: "%[1]s/api/v3", project: acme/calc, auth: gh}
projects:
  calc:
    agent: replay
    tracker: issues
    repos: [calc]
    github_trigger: {done_status: In Review}
orchestrator: {runs_dir: %[3]s}
sandbox: {step_timeout_seconds: 60}
skills: {source: default, version: v3.0.1}
secrets: {gh: "${GH_TOKEN}"}
`

// runWorld is a fake GitHub with the calc issue, serving a bare repository
// at its clone URL behind the token, and a config file using script.
func runWorld(t *testing.T, script string) (configPath, bare string, fake *githubfake.Server) {
	t.Helper()
	fake = githubfake.New(githubfake.WithToken(runToken))
	t.Cleanup(fake.Close)
	fake.AddRepo("acme/calc", "main")
	n := fake.CreateIssue("acme/calc", githubfake.NewIssue{Title: "add.sh subtracts", Body: "2 + 3 is not -1", Labels: []string{"calc", "bug"}})
	fake.CreateBranch("acme/calc", "agent-smith/"+strconv.Itoa(n))
	bare = pipelinetest.BareRepo(t, pipelinetest.Calc)
	fake.ServeGit("acme/calc", bare)

	abs, err := filepath.Abs(filepath.Join("..", "..", "runs", "pipeline", "testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	configPath = filepath.Join(t.TempDir(), "agentsmith.yml")
	if err := os.WriteFile(configPath, fmt.Appendf(nil, runCommandConfig, fake.URL, abs, filepath.Join(t.TempDir(), "runs")), 0o644); err != nil {
		t.Fatal(err)
	}
	return configPath, bare, fake
}

func TestRunCommandExecutesOneRunWithLocalSandboxes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs whole runs with sandbox agents as processes: skipped with -short")
	}
	cases := []struct {
		name   string
		script string
		code   int
		stdout []string
		stderr string
	}{
		{"fixed: the pull request is printed", "fix-bug.yaml", 0, []string{
			"ticket 1: add.sh subtracts\npipeline fix-bug on calc\n",
			"[checkout] calc: checked out agent-smith/1, new from main",
			"[test] calc: `sh test.sh` passed",
			"pull request calc: ", "/acme/calc/pull/2\n",
			"succeeded\n",
		}, ""},
		{"tests keep failing: exit status 1 with the step", "tests-keep-failing.yaml", 1, []string{"sending the model back once"},
			"failed: step test: tests still fail after one fix"},
		{"questions: exit status 3 with the questions", "questions.yaml", 3, []string{
			"is waiting for answers to its questions:\n  - Should add.sh print the sum of its arguments?\nanswer on the ticket, then run again\n",
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			cfg, bare, fake := runWorld(t, tc.script)
			var stdout, stderr bytes.Buffer
			// run's sandboxes are local whatever a shell set up for a
			// cluster says.
			env := map[string]string{"GH_TOKEN": runToken, "SANDBOX_TYPE": "kubernetes", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}
			err := Main(context.Background(), []string{"run", "-c", cfg, "--project", "calc", "--ticket", "1"}, envFrom(env), &stdout, &stderr)
			g.Expect(exitCode(err)).To(Equal(tc.code), "stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
			for _, s := range tc.stdout {
				g.Expect(stdout.String()).To(ContainSubstring(s))
			}
			g.Expect(stderr.String()).To(ContainSubstring(tc.stderr))
			g.Expect(stdout.String() + stderr.String()).NotTo(ContainSubstring(runToken))
			if tc.code == 0 {
				g.Expect(pipelinetest.Show(t, bare, "agent-smith/1", "add.sh")).To(ContainSubstring("$1 + $2"))
				is, _ := fake.Issue("acme/calc", 1)
				g.Expect(is.Labels).To(ContainElements("agent-smith:done", "In Review"))
			}
		})
	}
}

func TestRunCommandRefusesBadUsageWithStatus2(t *testing.T) {
	cfg, _, _ := runWorld(t, "fix-bug.yaml")
	cases := map[string][]string{
		"no ticket":         {"run", "--config", cfg, "--project", "calc"},
		"unknown project":   {"run", "--config", cfg, "--project", "shop", "--ticket", "1"},
		"unknown pipeline":  {"run", "--config", cfg, "--project", "calc", "--ticket", "1", "--pipeline", "security-scan"},
		"no --sandbox flag": {"run", "--config", cfg, "--project", "calc", "--ticket", "1", "--sandbox", "local"},
		"no config":         {"run", "--project", "calc", "--ticket", "1"},
		"bad config":        {"run", "--config", filepath.Join(t.TempDir(), "missing.yml"), "--project", "calc", "--ticket", "1"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Main(context.Background(), args, envFrom(map[string]string{"GH_TOKEN": runToken}), &stdout, &stderr)
			NewWithT(t).Expect(exitCode(err)).To(Equal(2), stderr.String())
		})
	}
}
