package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/runs"
)

func TestPlanValidationAndRepositories(t *testing.T) {
	cases := []struct {
		name     string
		plan     Plan
		repos    []string
		validErr string
		repoErr  string
		want     []string
	}{
		{"single repo fills in the repository", Plan{Summary: "s", Steps: []PlanStep{{Description: "d"}}}, []string{"calc"}, "", "", []string{"calc"}},
		{"multi repo keeps named repositories", Plan{Summary: "s", Steps: []PlanStep{{Repo: "api", Description: "a"}, {Repo: "web", Description: "w"}}}, []string{"api", "web"}, "", "", []string{"api", "web"}},
		{"multi repo needs a repository per step", Plan{Summary: "s", Steps: []PlanStep{{Description: "d"}}}, []string{"api", "web"}, "", `names repository ""`, nil},
		{"unknown repository", Plan{Summary: "s", Steps: []PlanStep{{Repo: "docs", Description: "d"}}}, []string{"api"}, "", `"docs", which is not one of this run's (api)`, nil},
		{"no summary", Plan{Steps: []PlanStep{{Description: "d"}}}, []string{"api"}, "summary is empty", "", []string{"api"}},
		{"empty step and question", Plan{Summary: "s", Steps: []PlanStep{{Repo: "api"}}, Questions: []string{" "}}, []string{"api"}, "steps[0] has no description", "", []string{"api"}},
		{"questions without steps is valid", Plan{Summary: "s", Questions: []string{"sum or difference?"}}, []string{"api"}, "", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := tc.plan
			if tc.validErr != "" {
				g.Expect(p.Validate()).To(MatchError(ContainSubstring(tc.validErr)))
				return
			}
			g.Expect(p.Validate()).To(Succeed())
			err := p.resolveRepos(tc.repos)
			if tc.repoErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.repoErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			var got []string
			for _, s := range p.Steps {
				got = append(got, s.Repo)
			}
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestPlanMarkdownListsStepsPerRepository(t *testing.T) {
	p := Plan{Summary: "Fix the sum.", Steps: []PlanStep{{Repo: "api", Description: "Use +."}}, Risks: []string{"callers rely on the bug"}}
	NewWithT(t).Expect(p.Markdown()).To(Equal("Fix the sum.\n\n1. **api**: Use +.\n\nRisks:\n- callers rely on the bug\n"))
}

func TestReviewMustBlockExactlyWhenAFindingIsBlocking(t *testing.T) {
	cases := []struct {
		name string
		rev  Review
		err  string
	}{
		{"approved, minor only", Review{Approved: true, Findings: []Finding{{Severity: "minor", Message: "m"}}}, ""},
		{"blocked by a blocking finding", Review{Findings: []Finding{{Severity: "blocking", Message: "b"}}}, ""},
		{"approved despite a blocking finding", Review{Approved: true, Findings: []Finding{{Severity: "blocking", Message: "b"}}}, "approved must be false"},
		{"blocked without a reason", Review{}, "approved must be false"},
		{"unknown severity", Review{Approved: true, Findings: []Finding{{Severity: "major", Message: "m"}}}, `severity is "major"`},
		{"empty message", Review{Approved: true, Findings: []Finding{{Severity: "minor"}}}, "message is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			if tc.err == "" {
				g.Expect(tc.rev.Validate()).To(Succeed())
			} else {
				g.Expect(tc.rev.Validate()).To(MatchError(ContainSubstring(tc.err)))
			}
		})
	}
}

func TestTicketRefIsTheClosingReferenceTheHostActsOn(t *testing.T) {
	cases := []struct {
		ticket, clone, want string
	}{
		{"https://github.com/acme/calc/issues/7", "https://github.com/acme/calc", "Fixes #7"},
		{"https://github.com/acme/calc/issues/7", "https://github.com/Acme/Calc.git", "Fixes #7"},
		{"https://github.com/acme/tracker/issues/7", "https://github.com/acme/calc", "Fixes acme/tracker#7"},
		{"https://gitlab.example/group/sub/app/-/issues/3", "https://gitlab.example/group/sub/app.git", "Closes #3"},
		{"https://gitlab.example/group/other/-/issues/3", "https://gitlab.example/group/app", "Closes group/other#3"},
		{"https://acme.atlassian.net/browse/SHOP-12", "https://github.com/acme/calc", "Ticket: https://acme.atlassian.net/browse/SHOP-12"},
		{"https://dev.azure.com/acme/Platform/_workitems/edit/42", "https://dev.azure.com/acme/Platform/_git/Api", "Ticket: https://dev.azure.com/acme/Platform/_workitems/edit/42"},
		{"", "https://github.com/acme/calc", ""},
	}
	for _, tc := range cases {
		NewWithT(t).Expect(ticketRef(tc.ticket, tc.clone)).To(Equal(tc.want), tc.ticket)
	}
}

func TestPullRequestBodyHasSummaryPlanSiblingsReferenceAndFooter(t *testing.T) {
	g := NewWithT(t)
	body := renderPRBody(prView{
		Summary: "Adds now.", Plan: "1. **calc**: use +", TicketRef: "Fixes #7", RunID: "20260101-000000-abcd",
		Usage:     runs.Usage{InputTokens: 1000, OutputTokens: 50, CostUSD: 0.0123},
		Decisions: []string{"fix in place (one line)"},
		Siblings:  []sibling{{Repo: "web", URL: "https://github.com/acme/web/pull/3"}},
	})
	g.Expect(body).To(Equal("Adds now.\n\n## Plan\n\n1. **calc**: use +\n\n## Decisions\n\n- fix in place (one line)\n\n" +
		"## Related pull requests\n\n- web: https://github.com/acme/web/pull/3\n\nFixes #7\n\n" +
		"---\n_Opened by agent-smith, run `20260101-000000-abcd`. Model usage: 1000 input and 50 output tokens, $0.0123._\n"))
}

func TestStatusCommentShowsStepsOutcomeAndRepositories(t *testing.T) {
	g := NewWithT(t)
	steps := []stepRecord{
		{Name: "ticket", State: stepDone, Took: 1500 * time.Millisecond},
		{Name: "test", State: stepFailed, Took: 2 * time.Second, Notes: []string{"tests failed | twice"}},
		{Name: "push", State: stepPending},
	}
	v := statusView{RunID: "r1", Pipeline: "fix-bug", Attempt: 2, Steps: steps, Skills: "default v1 (embedded)"}
	going := renderStatus(v)
	g.Expect(going).To(HavePrefix("<!-- agent-smith:status run=r1 -->\n### agent-smith is working on this\n"))
	g.Expect(going).To(ContainSubstring("Pipeline `fix-bug` · run `r1` · attempt 2 · skills default v1 (embedded)"))
	g.Expect(going).To(ContainSubstring("| ✅ | ticket | 1.5s |  |\n| ❌ | test | 2.0s | tests failed \\| twice |\n| ⬜ | push |  |  |\n"))

	v.Outcome = &outcome{State: runs.StateFailed, Step: "test", Reason: "tests still fail", WIP: []string{"`agent-smith/7-wip` in calc"}}
	v.Repos = []repoResult{{Name: "calc", Result: "skipped (no changes)"}}
	failed := renderStatus(v)
	g.Expect(failed).To(ContainSubstring("### agent-smith failed at step `test`"))
	g.Expect(failed).To(ContainSubstring("**Why:** tests still fail"))
	g.Expect(failed).To(ContainSubstring("pushed to `agent-smith/7-wip` in calc"))
	g.Expect(failed).To(ContainSubstring("| calc | skipped (no changes) |"))

	// The reason the failed step noted is told once, under Why.
	v.Steps[1].Notes = append(v.Steps[1].Notes, "tests still fail")
	g.Expect(strings.Count(renderStatus(v), "tests still fail")).To(Equal(1))
}

func TestQuestionsAndFailureComments(t *testing.T) {
	g := NewWithT(t)
	q := questionsComment(questionsMarker("r1", 1), 1, []string{"Sum or difference?", " Which shell? "})
	g.Expect(q).To(Equal("<!-- agent-smith:questions run=r1 round=1 -->\n### agent-smith has questions before it starts\n\n1. Sum or difference?\n2. Which shell?\n\nAnswer in a comment on this ticket; the run continues with your answer.\n"))
	again := questionsComment(questionsMarker("r1", 2), 2, []string{"Which shell?"})
	g.Expect(again).To(HavePrefix("<!-- agent-smith:questions run=r1 round=2 -->\n### agent-smith has more questions (round 2)\n"), "a second round is not headed as the first")
	f := failureComment("r1", "test", "tests fail\nFAIL: 6", nil)
	g.Expect(f).To(ContainSubstring("failed at step `test`\n\n> tests fail\n> FAIL: 6\n"))
}

func TestGitStepsNeverPromptAndReadAsTheirCommandLine(t *testing.T) {
	g := NewWithT(t)
	step := gitStep(gitLocalTimeout, "checkout", "-q", "-B", "agent-smith/7")
	g.Expect(step.Env).To(HaveKeyWithValue("GIT_TERMINAL_PROMPT", "0"))
	g.Expect(step.CommandLine()).To(Equal("git checkout -q -B agent-smith/7"))
}

func TestRemainingBudgetSubtractsEarlierAttempts(t *testing.T) {
	g := NewWithT(t)
	b := remainingBudget(config.Limits{MaxCostUSDPerRun: 5, MaxTokensPerRun: 1000}, runs.Usage{InputTokens: 600, OutputTokens: 100, CostUSD: 1})
	r := b.Report()
	g.Expect(r.MaxCostUSD).To(BeNumerically("~", 4, 1e-9))
	g.Expect(r.MaxTokens).To(Equal(300))
	spent := remainingBudget(config.Limits{MaxCostUSDPerRun: 5, MaxTokensPerRun: 1000}, runs.Usage{InputTokens: 2000, CostUSD: 9})
	g.Expect(spent.Report().MaxTokens).To(Equal(1), "a spent cap still refuses")
	g.Expect(spent.Report().MaxCostUSD).To(BeNumerically(">", 0))
	free := remainingBudget(config.Limits{}, runs.Usage{CostUSD: 9})
	g.Expect(free.Report().MaxCostUSD).To(BeZero(), "no cap stays no cap")
}

func TestResultNamesOutcomeStepsAndUsage(t *testing.T) {
	g := NewWithT(t)
	out := renderResult(resultView{RunID: "r1", Project: "calc", Pipeline: "fix-bug", Attempt: 2, TicketID: "7", Title: "Sum", URL: "https://x/7",
		Outcome: outcome{State: runs.StateFailed, Step: "review", Reason: "still blocking\nmore"},
		Steps:   []stepRecord{{Name: "review", State: stepFailed, Took: time.Second}},
		Total:   runs.Usage{InputTokens: 10, OutputTokens: 2, CostUSD: 0.5}})
	g.Expect(out).To(ContainSubstring("- Ticket: [#7 Sum](https://x/7)\n- Project: calc, pipeline fix-bug, attempt 2\n- Outcome: failed at step review: still blocking\n"))
	g.Expect(out).To(ContainSubstring("| review | failed | 1.0 |  |"))
	g.Expect(out).To(ContainSubstring("## Model usage"))
	g.Expect(out).To(ContainSubstring("All 2 attempts together: 10 input and 2 output tokens, $0.5000."))
}

func TestCommandErrorsKeepTheEndOfTheOutput(t *testing.T) {
	g := NewWithT(t)
	long := strings.Repeat("noise\n", 1000) + "fatal: the real reason"
	err := error(&commandError{Command: "git push", Exit: 128, Output: tail(long, 100)})
	g.Expect(err.Error()).To(And(HavePrefix("`git push` exited with 128: …\n"), HaveSuffix("fatal: the real reason")))
	var ce *commandError
	g.Expect(errors.As(err, &ce)).To(BeTrue())
	g.Expect(head("a\nb\nc\nd", 5)).To(Equal("a\nb\n[… cut at 5 bytes]"))
}

// A re-run knows its own pushed commit by the trailer, signed off or not,
// and never takes another run's.
func TestCommitOfTheRunIsKnownByItsTrailer(t *testing.T) {
	run := runs.Run{ID: "20261205-120000-abcd", Ticket: "7", Pipeline: config.PipelineFixBug}
	msg := commitMessage(run, "add.sh subtracts", "Fix the operator.")
	tests := []struct {
		name, msg, run string
		ok             bool
	}{
		{"as written", msg, run.ID, true},
		{"signed off", msg + "\n\nSigned-off-by: Release Bot <bot@acme.example>\n", run.ID, true},
		{"another run's", msg, "20261205-120000-wxyz", false},
		{"someone else's commit", "fix: something\n\nby hand", run.ID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			summary, ok := parseTrailer(tt.msg, tt.run)
			if ok != tt.ok || (ok && summary != "Fix the operator.") {
				t.Errorf("parseTrailer = %q, %v; want ok %v with the summary", summary, ok, tt.ok)
			}
		})
	}
}
