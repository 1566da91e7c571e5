package sandbox_test

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/sandbox"
)

func TestStepsReadAsOneLineForPeople(t *testing.T) {
	cases := []struct {
		name string
		step sandbox.Step
		res  sandbox.StepResult
		want string
	}{
		{"a shell script reads as the script", sandbox.Step{Kind: sandbox.KindRun, Command: "/bin/sh", Args: []string{"-c", "make test"}},
			sandbox.StepResult{ExitCode: 2, DurationSeconds: 2.3456}, "$ make test → exit 2 in 2.346s"},
		{"argv quotes what a shell would split", sandbox.Step{Kind: sandbox.KindRun, Command: "git", Args: []string{"commit", "-m", "fix: it\nworks", ""}},
			sandbox.StepResult{}, `$ git commit -m "fix: it\nworks" "" → exit 0 in 0s`},
		{"a timeout", sandbox.Step{Kind: sandbox.KindRun, Command: "sleep", Args: []string{"9"}},
			sandbox.StepResult{ExitCode: -1, TimedOut: true, DurationSeconds: 1}, "$ sleep 9 → timed out in 1s"},
		{"a file step names its path, never its content", sandbox.Step{Kind: sandbox.KindWriteFile, Path: "src/a.go", Content: "secret"},
			sandbox.StepResult{DurationSeconds: 0.002}, "writeFile src/a.go → ok in 2ms"},
		{"a refused step says why on one line", sandbox.Step{Kind: sandbox.KindReadFile, Path: "../etc/passwd"},
			sandbox.StepResult{ErrorMessage: "path escapes the work root\ndetail"}, "readFile ../etc/passwd → error: path escapes the work root in 0s"},
		{"grep and the root", sandbox.Step{Kind: sandbox.KindGrep, Pattern: "TODO"}, sandbox.StepResult{}, `grep "TODO" in . → ok in 0s`},
		{"a push names its branch", sandbox.Step{Kind: sandbox.KindGitPush, Branch: "agent-smith/7", Commit: "abc"}, sandbox.StepResult{Cancelled: true},
			"gitPush agent-smith/7 → cancelled in 0s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(sandbox.Describe(tc.step, tc.res)).To(Equal(tc.want))
		})
	}
}
