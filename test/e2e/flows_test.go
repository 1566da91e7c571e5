package e2e

// The GitHub flows that do not end in a plain pull request, through a
// replica with the kubernetes sandbox backend: tests that keep failing
// (issue 9, flow 3) and a plan that asks questions (flow 4). They prove
// with sandbox pods what runs/pipeline's flows prove with local sandboxes.

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/runs/pipeline"
	"github.com/agent-smith/agent-smith/runs/pipeline/pipelinetest"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

// pipelineScript is the absolute path of the model script name among the
// pipeline's test data.
func pipelineScript(t *testing.T, name string) string {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "runs", "pipeline", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return script
}

func TestGitHubIssueWhoseTestsKeepFailingFailsAtTheTestStepAndKeepsTheWorkOnAWIPBranch(t *testing.T) {
	g := NewWithT(t)
	w := newGitHubWorld(t, pipelineScript(t, "tests-keep-failing.yaml"))
	a := w.startReplica("orchestrator-0", w.serveConfig(4))
	n := w.issue()
	id := w.label(a, n)

	// The model multiplies, the real test fails, the model is sent back
	// once and changes nothing: the run fails at the test step, which its
	// error names, with the test's verdict.
	run := w.await(id, runs.StateFailed)
	g.Expect(run).To(And(HaveField("Step", pipeline.StepTest), HaveField("Attempt", 1), HaveField("Owner", a.owner)))
	g.Expect(run.Error).To(And(HavePrefix("step test: tests still fail after one fix: calc: `make test` exited with "),
		ContainSubstring("FAIL: add 2 3 gave 6")))
	g.Expect(run.PullRequests).To(BeEmpty())
	progress := w.progress(id)
	g.Expect(progress).To(ContainSubstring("sending the model back once"))

	// The work is kept on the WIP branch of the remote; the run's branch
	// was never pushed and nobody is asked to review anything.
	wip := "agent-smith/" + strconv.Itoa(n) + "-wip"
	g.Expect(pipelinetest.Branches(t, w.bare)).To(ConsistOf("main", wip))
	g.Expect(pipelinetest.Show(t, w.bare, wip, "add.sh")).To(ContainSubstring("$1 * $2"))
	g.Expect(pipelinetest.Git(t, w.bare, "log", "-1", "--format=%s", wip)).To(Equal("wip: add.sh subtracts (#" + strconv.Itoa(n) + ")"))
	g.Expect(w.fake.PullRequests(e2eGitHubRepo)).To(BeEmpty())

	// The ticket: the status comment shows the failed step, why and where
	// the work is, a notice of the end what to do next; the lifecycle
	// label is failed.
	is := w.issueState(n)
	g.Expect(is.Labels).To(ContainElement("agent-smith:failed"))
	g.Expect(is.Labels).NotTo(ContainElement(BeElementOf("agent-smith:in-progress", "agent-smith:done", "In Review")))
	g.Expect(is.Comments).To(HaveLen(2))
	g.Expect(is.Comments[0].Body).To(And(ContainSubstring("failed at step `test`"), ContainSubstring("❌ | test"),
		ContainSubstring("FAIL: add 2 3 gave 6"), ContainSubstring(wip)))
	g.Expect(strconv.FormatInt(is.Comments[0].ID, 10)).To(Equal(run.StatusCommentID))
	g.Expect(is.Comments[1].Body).To(And(ContainSubstring("could not finish"), Not(ContainSubstring("FAIL: add 2 3 gave 6"))))
	for _, leak := range append(bodies(is.Comments), run.Error, progress) {
		g.Expect(leak).NotTo(ContainSubstring(e2eGitHubToken))
	}
	kept, err := os.ReadFile(filepath.Join(w.runsDir, id, "result.md"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(kept)).To(ContainSubstring("Outcome: failed at step test"))

	// The run's one sandbox pod is gone, and so are its keys.
	w.expectNothingLeft()
	lives := w.pods.lives()
	g.Expect(lives).To(HaveLen(1))
	expectSandboxPod(g, lives[0], run, "calc", 1, a.owner)
	g.Expect(lives[0].Deleted).To(BeTrue())
}

func TestQuestionsOnAGitHubIssueParkTheRunAndTheAnswerResumesIt(t *testing.T) {
	g := NewWithT(t)
	w := newGitHubWorld(t, pipelineScript(t, "questions.yaml"))
	a := w.startReplica("orchestrator-0", w.serveConfig(4))
	n := w.issue()
	id := w.label(a, n)

	// The plan asks: the run parks at the plan step with its questions on
	// the ticket.
	run := w.await(id, runs.StateAwaitingInput)
	g.Expect(run).To(And(HaveField("Step", pipeline.StepPlan), HaveField("Attempt", 1), HaveField("Owner", a.owner)))
	g.Expect(run.Questions.Asked).To(Equal([]string{"Should add.sh print the sum of its arguments?"}))
	is := w.issueState(n)
	g.Expect(is.Labels).To(ContainElement("agent-smith:awaiting-input"))
	g.Expect(is.Labels).NotTo(ContainElement("agent-smith:in-progress"))
	g.Expect(bodies(is.Comments)).To(ContainElement(And(ContainSubstring("has questions"), ContainSubstring("1. Should add.sh print the sum"))))
	g.Expect(w.fake.PullRequests(e2eGitHubRepo)).To(BeEmpty())

	// Nobody is held while a person thinks: the sandbox pod is gone.
	w.expectNothingLeft()
	lives := w.pods.lives()
	g.Expect(lives).To(HaveLen(1))
	expectSandboxPod(g, lives[0], run, "calc", 1, a.owner)
	g.Expect(lives[0].Deleted).To(BeTrue())

	// Someone who cannot push does not get to answer.
	drive := w.fake.AddComment(e2eGitHubRepo, n, "Make it multiply.", githubfake.User{Login: "mallory"}, githubfake.AssociationNone)
	ignored := w.deliver(a, w.fake.IssueCommentEvent(e2eGitHubRepo, drive, "created"), http.StatusOK)
	g.Expect(ignored.Runs).To(BeEmpty())
	g.Expect(ignored.Reason).To(ContainSubstring("may not instruct agent-smith"))
	g.Expect(w.run(g, id).State).To(Equal(runs.StateAwaitingInput))

	// The owner answers: the same run resumes as its next attempt, plans
	// again with the answer and publishes the fix.
	answer := w.fake.AddComment(e2eGitHubRepo, n, "Yes, the sum.", githubfake.User{Login: "alice"}, githubfake.AssociationOwner)
	resumed := w.deliver(a, w.fake.IssueCommentEvent(e2eGitHubRepo, answer, "created"), http.StatusAccepted)
	g.Expect(resumed.Runs).To(Equal([]string{id}), "the answer resumes the same run")

	run = w.await(id, runs.StateSucceeded)
	g.Expect(run).To(And(HaveField("Attempt", 2), HaveField("Owner", a.owner)))
	g.Expect(run.Answer).To(Equal(runs.Answer{Text: "Yes, the sum.", Author: "alice"}))
	w.expectFixPublished(run, n)
	g.Expect(w.issueState(n).Labels).NotTo(ContainElement("agent-smith:awaiting-input"))
	g.Expect(w.progress(id)).To(ContainSubstring("[test] calc: `make test` passed"))

	// Each attempt had its own sandbox pod; both are gone.
	w.expectNothingLeft()
	lives = w.pods.lives()
	g.Expect(lives).To(HaveLen(2))
	expectSandboxPod(g, lives[1], run, "calc", 2, a.owner)
	g.Expect(lives).To(HaveEach(HaveField("Deleted", true)))
}

// bodies are the bodies of comments.
func bodies(comments []githubfake.Comment) []string {
	out := make([]string, len(comments))
	for i, c := range comments {
		out[i] = c.Body
	}
	return out
}
