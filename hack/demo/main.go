// Command demo runs agent-smith's whole flow offline, in one command
// (`make demo`): a sample repository whose test fails, a ticket about it on
// a GitHub stand-in, and `agent-smith run` turning the ticket into a pull
// request with local sandboxes and the scripted model — or a real model when
// OPENAI_API_KEY or ANTHROPIC_API_KEY is set. Everything it writes is under
// tmp/demo.
//
// It is a tool, not part of agent-smith: it may use the test stand-ins
// (githubfake, pipelinetest) production code must not.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/agent-smith/agent-smith/runs/pipeline/pipelinetest"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

// token is the demo tracker's only credential; it never leaves tmp/demo.
const token = "ghp_demoTokenThatOnlyTheStandInKnows000000"

func main() {
	root, err := os.Getwd()
	if err == nil {
		err = run(os.Stdout, root, filepath.Join(root, "bin", "agent-smith"), filepath.Join(root, "tmp", "demo"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run plays the demo with the repository at root and the agent-smith
// binary, writing only under dir (emptied first).
func run(out io.Writer, root, binary, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for _, d := range []string{"home", "tmp", "runs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	say := func(format string, a ...any) { fmt.Fprintf(out, "\n\033[1m== "+format+"\033[0m\n", a...) }

	say("A repository whose test fails")
	bare := filepath.Join(dir, "remote", "calc.git")
	if err := seed(bare, filepath.Join(dir, "seed"), pipelinetest.Calc); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: add.sh subtracts, test.sh expects 2 + 3 = 5\n", bare)

	say("A ticket on the tracker (a GitHub stand-in on %s)", "localhost")
	fake := githubfake.New(githubfake.WithToken(token))
	defer fake.Close()
	fake.AddRepo("acme/calc", "main")
	n := fake.CreateIssue("acme/calc", githubfake.NewIssue{
		Title: "add.sh subtracts instead of adding", Body: "`sh add.sh 2 3` prints -1; it should print 5.",
		Labels: []string{"agent-smith", "bug"},
	})
	// The stand-in does not see pushes to the local repository; it learns
	// of the branch agent-smith will push so the pull request can open.
	fake.CreateBranch("acme/calc", "agent-smith/"+strconv.Itoa(n))
	fmt.Fprintf(out, "issue #%d %q, labeled agent-smith and bug\n", n, "add.sh subtracts instead of adding")

	agent, agentBlock := pickAgent(filepath.Join(root, "runs", "pipeline", "testdata", "fix-bug.yaml"))
	cfgPath := filepath.Join(dir, "agentsmith.yml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, configTemplate, fake.URL, agentBlock, agent, filepath.Join(dir, "runs")), 0o644); err != nil {
		return err
	}
	// The stand-in serves the local repository's git at its clone URL,
	// behind the token, as GitHub would.
	fake.ServeGit("acme/calc", bare)

	say("agent-smith run (agent: %s)", agent)
	cmd := exec.Command(binary, "run", "--config", cfgPath, "--project", "calc", "--ticket", strconv.Itoa(n))
	cmd.Env = append(offline(os.Environ()), "HOME="+filepath.Join(dir, "home"), "TMPDIR="+filepath.Join(dir, "tmp"),
		"GH_TOKEN="+token, "SANDBOX_TYPE=local")
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	runErr := cmd.Run()

	show(out, say, dir, bare, cfgPath, fake, n)
	if runErr != nil {
		return fmt.Errorf("the run did not succeed: %w", runErr)
	}
	return nil
}

// show prints what the run left: its plan, the pushed diff, the pull
// request, the ticket, and where to look further.
func show(out io.Writer, say func(string, ...any), dir, bare, cfgPath string, fake *githubfake.Server, n int) {
	say("The plan")
	plans, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "plan.md"))
	for _, p := range plans {
		b, _ := os.ReadFile(p)
		fmt.Fprint(out, string(b))
	}

	say("The diff pushed to agent-smith/%d", n)
	diff, err := exec.Command("git", "--git-dir", bare, "diff", "--stat", "-p", "main", "agent-smith/"+strconv.Itoa(n), "--", ".", ":!.agentsmith").CombinedOutput()
	if err != nil {
		fmt.Fprintf(out, "(no branch: %s)\n", strings.TrimSpace(string(diff)))
	} else {
		fmt.Fprint(out, string(diff))
	}

	say("The pull request")
	for _, pr := range fake.PullRequests("acme/calc") {
		fmt.Fprintf(out, "#%d %s  (%s → %s, %s)\n%s\n", pr.Number, pr.Title, pr.Head, pr.Base, pr.State, indent(pr.Body))
	}

	say("The ticket")
	if is, ok := fake.Issue("acme/calc", n); ok {
		fmt.Fprintf(out, "#%d is %s, labels %s\n", is.Number, is.State, strings.Join(is.Labels, ", "))
		for _, c := range is.Comments {
			fmt.Fprintf(out, "\ncomment by %s:\n%s\n", c.Author, indent(c.Body))
		}
	}

	say("Where to look")
	fmt.Fprintf(out, "config        %s\nrepository    %s (git --git-dir %s log --oneline --all)\nrun artifacts %s\n",
		cfgPath, bare, bare, filepath.Join(dir, "runs"))
}

// outward are the variables through which agent-smith would reach beyond
// the demo: a Redis, a cluster, another config.
var outward = []string{"REDIS_URL", "SANDBOX_TYPE", "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_NAMESPACE",
	"AGENTSMITH_CONFIG", "POD_NAME", "POD_UID"}

// offline is environ without the outward variables, so a shell set up for
// a real deployment still gets the demo's embedded Redis and local
// sandboxes.
func offline(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(outward, name) {
			out = append(out, kv)
		}
	}
	return out
}

// pickAgent is a real model when its key is in the environment, else the
// scripted one replaying script; it returns the agent's name and its
// agents block.
func pickAgent(script string) (name, block string) {
	switch {
	case os.Getenv("OPENAI_API_KEY") != "":
		return "openai", fmt.Sprintf("openai: {type: openai, model: %q, api_key_secret: key}\nsecrets: {gh: \"${GH_TOKEN}\", key: \"${OPENAI_API_KEY}\"}", envOr("OPENAI_MODEL", "gpt-4.1"))
	case os.Getenv("ANTHROPIC_API_KEY") != "":
		return "anthropic", fmt.Sprintf("anthropic: {type: anthropic, model: %q, api_key_secret: key}\nsecrets: {gh: \"${GH_TOKEN}\", key: \"${ANTHROPIC_API_KEY}\"}", envOr("ANTHROPIC_MODEL", "claude-sonnet-4-5"))
	}
	return "replay", fmt.Sprintf("replay: {type: scripted, script: %q}\nsecrets: {gh: \"${GH_TOKEN}\"}", script)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

const configTemplate = `# Written by make demo.
agents:
  %[2]s
repos:
  calc: {type: github, url: "%[1]s/acme/calc", auth: gh, test_command: sh test.sh}
trackers:
  issues: {type: github, url: "%[1]s/api/v3", project: acme/calc, auth: gh}
projects:
  calc:
    agent: %[3]s
    tracker: issues
    repos: [calc]
    github_trigger: {done_status: closed}
orchestrator: {runs_dir: %[4]s}
sandbox: {step_timeout_seconds: 120}
skills: {version: v3.0.1}
`

// seed creates the bare repository with files in one commit on main.
func seed(bare, work string, files map[string]string) error {
	git := func(dir string, args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Demo", "GIT_AUTHOR_EMAIL=demo@example.com",
			"GIT_COMMITTER_NAME=Demo", "GIT_COMMITTER_EMAIL=demo@example.com", "GIT_CONFIG_NOSYSTEM=1")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, b)
		}
		return nil
	}
	for _, d := range []string{filepath.Dir(bare), work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := git(filepath.Dir(bare), "init", "-q", "--bare", "-b", "main", bare); err != nil {
		return err
	}
	if err := git(work, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "calc: add two numbers"}, {"push", "-q", bare, "main"}} {
		if err := git(work, args...); err != nil {
			return err
		}
	}
	return nil
}

func indent(s string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		b.WriteString("    " + sc.Text() + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
