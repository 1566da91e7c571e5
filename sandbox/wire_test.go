package sandbox_test

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/sandbox"
)

func TestJobIDIsAValidDeterministicKeyPartNamingTheStart(t *testing.T) {
	long := strings.Repeat("r", 95)
	const fence = 1764324000123 // a start's fence: Redis's clock in ms
	tests := []struct {
		name, run, repo string
		attempt         int
		want            string
	}{
		{name: "pipeline shape", run: "2026-11-28T10-00-00-ab12", repo: "todo-api", attempt: 1, want: "2026-11-28t10-00-00-ab12-todo-api-1-miioyf7f"},
		{name: "characters outside [a-z0-9-]", run: "run_1", repo: "Org/Repo.git", attempt: 2, want: "run-1-org-repo-git-2-miioyf7f"},
		{name: "too long: cut, with a hash", run: long, repo: "repo-a", attempt: 1, want: long[:87] + "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			id := sandbox.JobID(tt.run, tt.repo, tt.attempt, fence)
			g.Expect(sandbox.ValidateJobID(id)).To(Succeed())
			g.Expect(id).To(HavePrefix(tt.want))
			g.Expect(sandbox.JobID(tt.run, tt.repo, tt.attempt, fence)).To(Equal(id), "deterministic")
		})
	}
	g := NewWithT(t)
	g.Expect(sandbox.JobID(long, "repo-a", 1, fence)).NotTo(Equal(sandbox.JobID(long, "repo-b", 1, fence)), "cut ids stay distinct")
	g.Expect(sandbox.JobID(long, "repo-a", 1, fence)).To(HaveLen(sandbox.MaxJobIDLen))
	g.Expect(sandbox.JobID("run", "api", 1, fence)).NotTo(Equal(sandbox.JobID("run", "api", 1, fence+1)),
		"two starts at the same attempt (one lost with Redis) never share a job")
	g.Expect(sandbox.JobID(long, "api", 1, fence)).NotTo(Equal(sandbox.JobID(long, "api", 1, fence+1)), "also when cut")
}

func TestStepValidate(t *testing.T) {
	ok := func(s sandbox.Step) sandbox.Step { s.SchemaVersion, s.StepID = 1, "abc-123"; return s }
	tests := []struct {
		name string
		step sandbox.Step
		err  string
	}{
		{name: "run", step: ok(sandbox.Step{Kind: sandbox.KindRun, Command: "go"})},
		{name: "run without command", step: ok(sandbox.Step{Kind: sandbox.KindRun}), err: "run step needs command"},
		{name: "edit without oldString", step: ok(sandbox.Step{Kind: sandbox.KindEditFile, Path: "a"}), err: "editFile step needs oldString"},
		{name: "read without path", step: ok(sandbox.Step{Kind: sandbox.KindReadFile}), err: "readFile step needs path"},
		{name: "grep mode", step: ok(sandbox.Step{Kind: sandbox.KindGrep, Pattern: "x", OutputMode: "lines"}), err: `unknown grep outputMode "lines"`},
		{name: "list needs nothing", step: ok(sandbox.Step{Kind: sandbox.KindListFiles})},
		{name: "unknown kind", step: ok(sandbox.Step{Kind: "format"}), err: `unknown step kind "format"`},
		{name: "schema version", step: sandbox.Step{SchemaVersion: 2, StepID: "a", Kind: sandbox.KindShutdown}, err: "unsupported schemaVersion 2"},
		{name: "step id in a key", step: sandbox.Step{SchemaVersion: 1, StepID: "a:b", Kind: sandbox.KindShutdown}, err: "invalid stepId"},
		{name: "negative window", step: ok(sandbox.Step{Kind: sandbox.KindReadFile, Path: "a", StartLine: -1}), err: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := tt.step.Validate()
			if tt.err == "" {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(MatchError(ContainSubstring(tt.err)))
			}
		})
	}
}
