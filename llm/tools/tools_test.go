package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/scripted"
	"github.com/agent-smith/agent-smith/llm/tools"
	"github.com/agent-smith/agent-smith/sandbox"
)

var calcRepo = map[string]string{
	"add.sh":  "#!/bin/sh\n# add prints the sum of its two arguments.\necho $(( $1 - $2 ))\n",
	"test.sh": "out=$(sh add.sh 2 3)\nif [ \"$out\" = 5 ]; then echo PASS; else echo \"FAIL: add 2 3 gave $out\" >&2; exit 1; fi\n",
}

func toolsFor(t testing.TB, sbs map[string]sandbox.Sandbox, opts tools.Options) *tools.Toolset {
	t.Helper()
	ts, err := tools.New(sbs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

var limits = tools.OptionsFor(config.Limits{CommandTimeoutSeconds: 60, MaxCommandTimeoutSeconds: 120, CommandOutputBytes: 64 << 10})

func TestScriptedLoopFixesABugInARealSandbox(t *testing.T) {
	g := NewWithT(t)
	sbs := provision(t, map[string]map[string]string{"calc": calcRepo})
	turns, err := scripted.Load("testdata/fix-add.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	loop := llm.Loop{
		Model: &llm.Model{Provider: scripted.New("fix", turns, llm.SlotExecution), Name: "scripted", ContextWindow: 128000, MaxOutputTokens: 4000},
		Tools: toolsFor(t, sbs, limits).Full(),
	}
	res, err := loop.Run(context.Background(), llm.LoopRequest{Phase: "execution", Prompt: "test.sh fails: fix add.sh"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopFinished), res.StopDetail)
	g.Expect(res.Summary).To(ContainSubstring("adds now"))
	g.Expect(res.Decisions).To(ConsistOf(llm.Decision{Decision: "fix the operator", Reason: "the test expects a sum"}))
	g.Expect(res.ToolCalls).To(HaveLen(4))
	for _, c := range res.ToolCalls {
		g.Expect(c.Error).To(BeEmpty(), c.Name)
	}

	results := toolResults(res.Messages)
	g.Expect(results[0]).To(ContainSubstring("     3\techo $(( $1 - $2 ))"), "read_file numbers lines")
	g.Expect(results[1]).To(And(HavePrefix("exit code 1"), ContainSubstring("--- stderr ---\nFAIL: add 2 3 gave -1")))
	g.Expect(results[3]).To(ContainSubstring("replaced 1 occurrence(s) in add.sh"))
	g.Expect(results[4]).To(And(HavePrefix("exit code 0"), ContainSubstring("PASS")))

	text, err := sandbox.ReadFile(context.Background(), sbs["calc"], sandbox.ReadFileRequest{Path: "add.sh"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(text.Content).To(ContainSubstring("echo $(( $1 + $2 ))"))
}

func toolResults(msgs []llm.Message) []string {
	var out []string
	for _, m := range msgs {
		if m.Role == llm.RoleTool {
			out = append(out, m.Text)
		}
	}
	return out
}

// call runs one tool by name.
func call(ctx context.Context, set []llm.Tool, name, args string) (string, error) {
	for _, tl := range set {
		if tl.Def().Name == name {
			return tl.Call(ctx, json.RawMessage(args))
		}
	}
	return "", errors.New("no tool " + name)
}

func TestMultiRepoPathsStartWithTheRepoAndCommandsNameIt(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	sbs := provision(t, map[string]map[string]string{
		"api": {"main.go": "package main\n// TODO: serve\n", "node_modules/dep/x.js": "ignored\n"},
		"web": {"src/index.js": "// TODO: render\nconsole.log('hi')\n"},
	})
	set := toolsFor(t, sbs, limits).Full()

	out, err := call(ctx, set, "read_file", `{"path": "web/src/index.js"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("console.log('hi')"))

	_, err = call(ctx, set, "read_file", `{"path": "src/index.js"}`)
	g.Expect(err).To(MatchError(ContainSubstring("this run has api, web")))

	out, err = call(ctx, set, "grep", `{"pattern": "TODO"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(And(ContainSubstring("api/main.go:2: // TODO: serve"), ContainSubstring("web/src/index.js:1: // TODO: render")))

	out, err = call(ctx, set, "find_files", `{"pattern": "*.js"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Fields(out)).To(Equal([]string{"web/src/index.js"}), "node_modules is not searched")

	out, err = call(ctx, set, "find_files", `{"pattern": "src/**/*.js", "path": "web"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Fields(out)).To(Equal([]string{"web/src/index.js"}))

	out, err = call(ctx, set, "list_directory", `{}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(And(ContainSubstring("api/main.go\n"), ContainSubstring("api/node_modules/ (not descended into)"), ContainSubstring("web/src/\n")))

	out, err = call(ctx, set, "directory_tree", `{"path": "web"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("index.js"))

	_, err = call(ctx, set, "run_command", `{"command": "ls"}`)
	g.Expect(err).To(MatchError(ContainSubstring("name the one to run in with repo")))
	out, err = call(ctx, set, "run_command", `{"command": "ls src", "repo": "web"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("index.js"))

	_, err = call(ctx, set, "write_file", `{"path": "api/cmd/new.go", "content": "package cmd\n"}`)
	g.Expect(err).NotTo(HaveOccurred())
	text, err := sandbox.ReadFile(ctx, sbs["api"], sandbox.ReadFileRequest{Path: "cmd/new.go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(text.Content).To(Equal("package cmd\n"))

	var schema map[string]any
	for _, tl := range set {
		if tl.Def().Name == "run_command" {
			g.Expect(json.Unmarshal(tl.Def().Parameters, &schema)).To(Succeed())
		}
	}
	g.Expect(schema["required"]).To(ConsistOf("command", "repo"))
}

func TestReadOnlyToolsCannotChangeAnything(t *testing.T) {
	g := NewWithT(t)
	ts := toolsFor(t, provision(t, map[string]map[string]string{"calc": calcRepo}), limits)
	var names []string
	for _, tl := range ts.ReadOnly() {
		names = append(names, tl.Def().Name)
	}
	g.Expect(names).To(ConsistOf("read_file", "list_directory", "directory_tree", "find_files", "grep"))
	names = nil
	for _, tl := range ts.Full() {
		names = append(names, tl.Def().Name)
	}
	g.Expect(names).To(ConsistOf("read_file", "list_directory", "directory_tree", "find_files", "grep", "write_file", "edit_file", "run_command"))
}

func TestRunCommandBindsItsTimeoutAndOutputCap(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	sbs := provision(t, map[string]map[string]string{"calc": calcRepo})
	set := toolsFor(t, sbs, tools.Options{CommandTimeout: 30 * time.Second, MaxCommandTimeout: time.Minute, OutputBytes: 2000}).Full()

	_, err := call(ctx, set, "run_command", `{"command": "echo started; sleep 30", "timeout_seconds": 1}`)
	g.Expect(err).To(MatchError(And(ContainSubstring("timed out after 1s"), ContainSubstring("started"))))

	out, err := call(ctx, set, "run_command", `{"command": "head -c 50000 /dev/zero | tr '\\0' x; echo; echo done >&2"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(len(out)).To(BeNumerically("<", 2300))
	g.Expect(out).To(And(ContainSubstring("bytes omitted by the output cap"), ContainSubstring("--- stderr ---\ndone")))

	out, err = call(ctx, set, "run_command", `{"command": "exit 3"}`)
	g.Expect(err).NotTo(HaveOccurred(), "a failing command is a result, not a tool error")
	g.Expect(out).To(HavePrefix("exit code 3\n(no output)"))
}

func TestDestructiveCommandsNeverReachTheSandbox(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	sbs := provision(t, map[string]map[string]string{"calc": {".git/HEAD": "ref: refs/heads/main\n", "add.sh": calcRepo["add.sh"]}})
	set := toolsFor(t, sbs, limits).Full()
	for _, cmd := range []string{"rm -rf .git", "cd . && rm -rf ./*", "git push origin HEAD", `sh -c "rm -fr ~"`} {
		_, err := call(ctx, set, "run_command", `{"command": `+quote(cmd)+`}`)
		var ge *tools.GuardError
		g.Expect(errors.As(err, &ge)).To(BeTrue(), cmd)
	}
	for _, path := range []string{".git/HEAD", "add.sh"} {
		_, err := sandbox.ReadFile(ctx, sbs["calc"], sandbox.ReadFileRequest{Path: path})
		g.Expect(err).NotTo(HaveOccurred(), path)
	}
}

func quote(s string) string {
	data, _ := json.Marshal(s)
	return string(data)
}

func TestSandboxRefusalsAreToolErrorsButALostSandboxHalts(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	sbs := provision(t, map[string]map[string]string{"calc": {"dup.txt": "x\nx\n"}})
	set := toolsFor(t, sbs, limits).Full()

	for _, tc := range []struct{ tool, args string }{
		{"read_file", `{"path": "missing.txt"}`},
		{"read_file", `{"path": "../../etc/passwd"}`},
		{"edit_file", `{"path": "dup.txt", "old_string": "x", "new_string": "y"}`},
		{"read_file", `{"path": 7}`},
	} {
		_, err := call(ctx, set, tc.tool, tc.args)
		g.Expect(err).To(HaveOccurred(), tc.args)
		var halt *llm.HaltError
		g.Expect(errors.As(err, &halt)).To(BeFalse(), "%s %s: %v", tc.tool, tc.args, err)
	}

	gone := map[string]sandbox.Sandbox{"calc": released{sbs["calc"]}}
	_, err := call(ctx, toolsFor(t, gone, limits).Full(), "read_file", `{"path": "dup.txt"}`)
	var halt *llm.HaltError
	g.Expect(errors.As(err, &halt)).To(BeTrue(), "%v", err)
	g.Expect(errors.Is(err, sandbox.ErrAgentGone)).To(BeTrue())
}

// released is a sandbox whose agent is gone: every step fails the way a
// Remote reports a dead agent.
type released struct{ sandbox.Sandbox }

func (r released) Run(context.Context, sandbox.Step, func(sandbox.StepEvent)) (sandbox.StepResult, error) {
	return sandbox.StepResult{}, sandbox.ErrAgentGone
}

func TestReadFileReadsInWindows(t *testing.T) {
	g := NewWithT(t)
	var b strings.Builder
	for i := 1; i <= 2500; i++ {
		b.WriteString("line\n")
	}
	set := toolsFor(t, provision(t, map[string]map[string]string{"r": {"big.txt": b.String(), "empty.txt": ""}}), limits).Full()
	out, err := call(context.Background(), set, "read_file", `{"path": "big.txt"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(HaveSuffix("[lines 1-2000 of 2500]"))
	out, err = call(context.Background(), set, "read_file", `{"path": "big.txt", "start_line": 2400}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(And(HavePrefix("  2400\tline"), HaveSuffix("[lines 2400-2500 of 2500]")))
	out, err = call(context.Background(), set, "read_file", `{"path": "empty.txt"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("(empty.txt is empty)"))
}

func TestSecretsAreCutOutOfToolResults(t *testing.T) {
	g := NewWithT(t)
	const token = "ghs_0123456789abcdefSECRET"
	ctx := context.Background()
	sbs := provision(t, map[string]map[string]string{"app": {".netrc": "machine github.com password " + token + "\n"}})
	opts := limits
	opts.Secrets = []string{token, "ab"}
	set := toolsFor(t, sbs, opts).Full()

	out, err := call(ctx, set, "read_file", `{"path": ".netrc"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("password <redacted>"))
	out, err = call(ctx, set, "run_command", `{"command": "cat .netrc; echo about; echo `+token+` >&2"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).NotTo(ContainSubstring(token))
	g.Expect(out).To(ContainSubstring("about"), "too short a value is not a secret worth cutting")
	_, err = call(ctx, set, "read_file", `{"path": "`+token+`.txt"}`)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).NotTo(ContainSubstring(token))
}
