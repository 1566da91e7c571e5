package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/runs/pipeline"
	"github.com/agent-smith/agent-smith/runs/pipeline/pipelinetest"
	"github.com/agent-smith/agent-smith/runs/worker"
	"github.com/agent-smith/agent-smith/sandbox/local"
	"github.com/agent-smith/agent-smith/skills"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
	"github.com/agent-smith/agent-smith/trackers/intake"
)

const (
	token         = "ghp_e2eTokenThatMustNeverLeak0123456789"
	webhookSecret = "e2e-webhook-secret"
	repoName      = "acme/calc"
)

// configYAML is the world's agentsmith.yml: one GitHub tracker and
// repository on the fake, a scripted agent. %[1]s is the fake's root, %[2]s
// the script, %[3]s the runs directory, %[4]s the repository's extra keys.
const configYAML = `
agents:
  replay:
    type: scripted
    script: %[2]s
    pricing:
      scripted: {input_per_million: 2.0, output_per_million: 8.0}
repos:
  calc:
    type: github
    url: "%[1]s/acme/calc"
    auth: gh
    %[4]s
trackers:
  issues:
    type: github
    url: "%[1]s/api/v3"
    project: acme/calc
    auth: gh
    webhook_secret: ${WEBHOOK_SECRET}
projects:
  calc:
    agent: replay
    tracker: issues
    repos: [calc]
    github_trigger:
      done_status: In Review
      pipeline_from_label: {init: init-project, feature: add-feature}
orchestrator:
  runs_dir: %[3]s
sandbox:
  step_timeout_seconds: 60
skills:
  source: default
  version: v3.0.1
secrets:
  gh: ${GH_TOKEN}
`

// world is one end-to-end test's universe: a fake GitHub with the calc
// repository and its issues, the calc remote as a bare git repository, a
// run store on the package's redis-server, local sandboxes running the
// real agent, the pipeline executed by the real workers, and intake's
// webhook endpoint.
type world struct {
	t       testing.TB
	fake    *githubfake.Server
	bare    string
	cfg     *config.Config
	store   *runs.Store
	prefix  string
	runsDir string
	boxes   string
	hook    *httptest.Server
}

var worlds atomic.Int64

func newWorld(t testing.TB, script, repoKeys string) *world {
	t.Helper()
	g := NewWithT(t)
	w := &world{t: t, fake: githubfake.New(githubfake.WithToken(token)), bare: pipelinetest.BareRepo(t, pipelinetest.Calc),
		runsDir: t.TempDir(), boxes: t.TempDir(), prefix: "e2e" + strconv.FormatInt(worlds.Add(1), 10) + ":"}
	t.Cleanup(w.fake.Close)
	w.fake.AddRepo(repoName, "main")

	abs, err := filepath.Abs(filepath.Join("testdata", script))
	g.Expect(err).NotTo(HaveOccurred())
	env := map[string]string{"GH_TOKEN": token, "WEBHOOK_SECRET": webhookSecret}
	w.cfg, err = config.Parse(fmt.Appendf(nil, configYAML, w.fake.URL, abs, w.runsDir, repoKeys), "e2e.yml",
		func(k string) (string, bool) { v, ok := env[k]; return v, ok }, config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	g.Expect(err).NotTo(HaveOccurred())

	w.store, err = runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: w.prefix})
	g.Expect(err).NotTo(HaveOccurred())
	// The repository's clone URL is the fake's web URL, where it serves
	// the bare repository's git behind the token.
	w.fake.ServeGit(repoName, w.bare)
	prov, err := local.New(local.Options{Executable: testenv.AgentBinary(t), Dir: w.boxes})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = prov.Close() })
	cfg := w.cfg
	pipe, err := pipeline.New(pipeline.Deps{
		Config:      func() *config.Config { return cfg },
		Tracker:     connect.Tracker,
		RepoHost:    connect.RepoHost,
		Store:       w.store,
		Provisioner: prov,
		Models: func(ctx context.Context, cfg *config.Config, agent string, slot llm.Slot, run string) (*llm.Model, error) {
			return providers.New(ctx, cfg, agent, slot, providers.Options{RunID: run})
		},
		Skills: skills.NewLoader(nil),
	})
	g.Expect(err).NotTo(HaveOccurred())

	log := testr.NewWithInterface(t, testr.Options{Verbosity: 1})
	if _, bench := t.(*testing.B); bench {
		log = logr.Discard()
	}
	workers := worker.NewWorkers(w.store, pipe, runs.Owner{Name: "replica-a", UID: "uid-a"}, 2, log, nil)
	finalizer := worker.NewFinalizer(w.store, pipe, "replica-a", worker.FinalizerOptions{}, log, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		var both sync.WaitGroup
		both.Go(func() { _ = workers.Start(ctx) })
		both.Go(func() { _ = finalizer.Start(ctx) })
		both.Wait()
	}()
	t.Cleanup(func() { cancel(); <-done })

	tr, err := connect.Tracker(cfg, "issues")
	g.Expect(err).NotTo(HaveOccurred())
	// As serve's start does (connect.Warm): comment deliveries wait for it.
	_, err = tr.(trackers.Self).Self(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	h, err := intake.New(cfg, map[string]trackers.Tracker{"issues": tr}, intake.StoreRuns(w.store), log, nil)
	g.Expect(err).NotTo(HaveOccurred())
	w.hook = httptest.NewServer(h)
	t.Cleanup(w.hook.Close)
	return w
}

// issue opens the calc bug on the fake, with extra labels. GitHub only
// accepts a pull request from a branch it has: the fake does not see git
// pushes, so the run's branch is made known up front.
func (w *world) issue(labels ...string) int {
	n := w.fake.CreateIssue(repoName, githubfake.NewIssue{Title: "add.sh subtracts", Body: "`sh add.sh 2 3` prints -1, it should print 5.", Labels: append([]string{"calc"}, labels...)})
	w.fake.CreateBranch(repoName, "agent-smith/"+strconv.Itoa(n))
	return n
}

// deliver posts a signed delivery to the webhook endpoint and returns the
// run ids of its answer.
func (w *world) deliver(d githubfake.Delivery, wantStatus int) []string {
	w.t.Helper()
	g := NewWithT(w.t)
	resp, err := githubfake.Send(context.Background(), w.hook.Client(), w.hook.URL+"/webhooks/github", webhookSecret, d)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Outcome string   `json:"outcome"`
		Runs    []string `json:"runs"`
		Reason  string   `json:"reason"`
	}
	g.Expect(json.NewDecoder(resp.Body).Decode(&body)).To(Succeed())
	g.Expect(resp.StatusCode).To(Equal(wantStatus), "%+v", body)
	return body.Runs
}

// label adds the trigger label as a person would, and delivers the event.
func (w *world) label(n int) string {
	w.fake.AddLabels(repoName, n, "agent-smith")
	ids := w.deliver(w.fake.IssuesEvent(repoName, n, "labeled", "agent-smith", githubfake.User{Login: "alice"}), http.StatusAccepted)
	NewWithT(w.t).Expect(ids).To(HaveLen(1))
	return ids[0]
}

func (w *world) run(id string) runs.Run {
	r, err := w.store.Get(context.Background(), id)
	NewWithT(w.t).Expect(err).NotTo(HaveOccurred())
	return r
}

// await waits for run id to reach state; an ended run, for its ticket to
// be told too (the finalizer).
func (w *world) await(id string, state runs.State) runs.Run {
	w.t.Helper()
	NewWithT(w.t).Eventually(func() runs.State {
		r := w.run(id)
		if r.Finalize == runs.FinalizePending {
			return "finalizing"
		}
		return r.State
	}, 2*time.Minute, 50*time.Millisecond).
		Should(Equal(state), func() string { r := w.run(id); return fmt.Sprintf("step %s, error %q", r.Step, r.Error) })
	return w.run(id)
}

// expectNothingLeft checks that the run's sandboxes are gone: no agent
// work directory, and that the sandboxes never touched Redis.
func (w *world) expectNothingLeft() {
	w.t.Helper()
	g := NewWithT(w.t)
	g.Expect(testenv.SharedRedis(w.t).Client(w.t).Keys(context.Background(), w.prefix+"sandbox:*").Result()).To(BeEmpty(), "sandbox keys")
	entries, err := os.ReadDir(w.boxes)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(entries).To(BeEmpty(), "sandbox work directories")
}

func (w *world) issueState(n int) githubfake.Issue {
	is, ok := w.fake.Issue(repoName, n)
	NewWithT(w.t).Expect(ok).To(BeTrue())
	return is
}

func (w *world) progress(id string) string {
	lines, err := w.store.Events(context.Background(), id, "", 0)
	NewWithT(w.t).Expect(err).NotTo(HaveOccurred())
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.String() + "\n")
	}
	return b.String()
}

// transcript is run id's transcript entries of kind.
func (w *world) transcript(id string, kind runs.EntryKind) []runs.Entry {
	entries, err := w.store.Events(context.Background(), id, "", 0)
	NewWithT(w.t).Expect(err).NotTo(HaveOccurred())
	var out []runs.Entry
	for _, e := range entries {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func bodies(cs []githubfake.Comment) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Body)
	}
	return out
}

func TestLabeledIssueBecomesAPullRequestThatFixesIt(t *testing.T) {
	g := NewWithT(t)
	w := newWorld(t, "fix-bug.yaml", "")
	w.cfg.Projects["calc"].Commit = config.Commit{AuthorName: "Release Bot", AuthorEmail: "bot@acme.example", Signoff: true, Artifacts: true}
	n := w.issue()
	id := w.label(n)

	r := w.await(id, runs.StateSucceeded)
	branch := "agent-smith/" + strconv.Itoa(n)

	// The fix is on the run's branch of the remote, with the artifacts,
	// committed and signed off as the project says; main is untouched.
	g.Expect(pipelinetest.Show(t, w.bare, branch, "add.sh")).To(ContainSubstring("echo $(( $1 + $2 ))"))
	g.Expect(pipelinetest.Show(t, w.bare, "main", "add.sh")).To(ContainSubstring("$1 - $2"))
	result := pipelinetest.Show(t, w.bare, branch, ".agentsmith/runs/"+id+"/result.md")
	g.Expect(result).To(And(ContainSubstring("# agent-smith run "+id), ContainSubstring("## Model usage"), ContainSubstring("fix the operator in place")))
	g.Expect(pipelinetest.Show(t, w.bare, branch, ".agentsmith/runs/"+id+"/plan.json")).To(ContainSubstring(`"summary": "add.sh subtracts`))
	g.Expect(pipelinetest.Git(t, w.bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", branch)).To(Equal("Release Bot <bot@acme.example>|Release Bot <bot@acme.example>|fix: add.sh subtracts (#" + strconv.Itoa(n) + ")"))
	g.Expect(pipelinetest.Git(t, w.bare, "log", "-1", "--format=%(trailers:key=Signed-off-by)", branch)).To(ContainSubstring("Signed-off-by: Release Bot <bot@acme.example>"))

	// One pull request, into main, that closes the issue.
	prs := w.fake.PullRequests(repoName)
	g.Expect(prs).To(HaveLen(1))
	pr := prs[0]
	g.Expect(pr.Head).To(Equal(branch))
	g.Expect(pr.Base).To(Equal("main"))
	g.Expect(pr.Body).To(And(ContainSubstring("Fixes #"+strconv.Itoa(n)), ContainSubstring("## Plan"), ContainSubstring("quote the arguments"), ContainSubstring("run `"+id+"`")))
	g.Expect(r.PullRequests).To(HaveKeyWithValue("calc", ContainSubstring(fmt.Sprintf("/pull/%d", pr.Number))))

	// The ticket: the status comment shows the finished run and its pull
	// request, a notice of the end says what changed (and nothing the
	// status comment says); the done status and done label.
	is := w.issueState(n)
	g.Expect(is.Labels).To(ContainElements("agent-smith:done", "In Review"))
	g.Expect(is.Labels).NotTo(ContainElement("agent-smith:in-progress"))
	g.Expect(bodies(is.Comments)).To(HaveLen(2))
	g.Expect(is.Comments[0].Body).To(And(ContainSubstring("agent-smith finished"), ContainSubstring("✅ | test"), ContainSubstring("make test"),
		ContainSubstring(fmt.Sprintf("pull request #%d", pr.Number))))
	g.Expect(is.Comments[0].ID).To(Equal(mustAtoi(t, r.StatusCommentID)))
	g.Expect(is.Comments[1].Body).To(ContainSubstring("add.sh subtracted; it adds now"))
	expectNoRepeats(g, bodies(is.Comments))
	for _, c := range is.Comments {
		g.Expect(c.Body).NotTo(ContainSubstring(token))
	}

	// The run: every step recorded, usage counted, artifacts kept.
	g.Expect(r.Step).To(Equal(pipeline.StepFinalize))
	g.Expect(r.Usage.InputTokens).To(BeNumerically(">=", 12500))
	g.Expect(r.Usage.CostUSD).To(BeNumerically(">", 0))
	progress := w.progress(id)
	for _, s := range []string{"ticket", "provision", "checkout", "context", "plan", "execute", "test", "review", "push", "pull-requests", "finalize"} {
		g.Expect(progress).To(ContainSubstring("phase "+s+" started"), s)
		if s != pipeline.StepFinalize { // it ends after the run's own end
			g.Expect(progress).To(ContainSubstring("phase "+s+" ended in "), s)
		}
	}
	g.Expect(progress).To(ContainSubstring("`make test` passed"))
	g.Expect(progress).NotTo(ContainSubstring(token))

	// The transcript tells the model calls, the tool calls and the
	// sandbox's commands, each with what it cost and how it ended.
	models := w.transcript(id, runs.KindModel)
	g.Expect(models).To(ContainElement(HaveField("Model", PointTo(And(HaveField("Phase", "execute"),
		HaveField("InputTokens", int64(2000)), HaveField("OutputTokens", int64(30)), HaveField("CostUSD", BeNumerically(">", 0)))))))
	g.Expect(w.transcript(id, runs.KindTool)).To(ContainElements(
		HaveField("Tool", PointTo(And(HaveField("Name", "read_file"), HaveField("Arguments", ContainSubstring("add.sh")), HaveField("Outcome", "ok")))),
		HaveField("Tool", PointTo(And(HaveField("Name", "edit_file"), HaveField("Outcome", "ok"))))))
	g.Expect(w.transcript(id, runs.KindCommand)).To(ContainElement(And(HaveField("Step", "execute"),
		HaveField("Command", PointTo(And(HaveField("Repo", "calc"), HaveField("Command", "make test"), HaveField("ExitCode", 0),
			HaveField("Output", Not(BeEmpty()))))))))
	g.Expect(progress).To(And(ContainSubstring("[execute] calc: $ make test → exit 0 in "), ContainSubstring("[test] calc: $ make test → exit 0 in ")))
	g.Expect(progress).NotTo(ContainSubstring("$ git "), "the pipeline's own git plumbing tells its outcome in notes")
	g.Expect(filepath.Join(w.runsDir, id, "result.md")).To(BeARegularFile())
	kept, err := os.ReadFile(filepath.Join(w.runsDir, id, "result.md"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(kept)).To(And(ContainSubstring("Outcome: succeeded"), ContainSubstring(fmt.Sprintf("pull request #%d", pr.Number))))

	w.expectNothingLeft()
	keys, err := testenv.SharedRedis(t).Client(t).Keys(context.Background(), w.prefix+"ticket:*").Result()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(keys).To(BeEmpty(), "the ticket's claim ends with the run")
}

func TestTestsThatKeepFailingFailTheRunAtTheTestStepAndKeepTheWork(t *testing.T) {
	g := NewWithT(t)
	w := newWorld(t, "tests-keep-failing.yaml", "test_command: sh test.sh")
	n := w.issue()
	id := w.label(n)

	r := w.await(id, runs.StateFailed)
	g.Expect(r.Step).To(Equal(pipeline.StepTest))
	g.Expect(r.Error).To(And(HavePrefix("step test: tests still fail after one fix"), ContainSubstring("FAIL: add 2 3 gave 6")))

	wip := "agent-smith/" + strconv.Itoa(n) + "-wip"
	g.Expect(pipelinetest.Branches(t, w.bare)).To(ConsistOf("main", wip))
	g.Expect(pipelinetest.Show(t, w.bare, wip, "add.sh")).To(ContainSubstring("$1 * $2"))
	g.Expect(pipelinetest.Git(t, w.bare, "log", "-1", "--format=%s", wip)).To(HavePrefix("wip: add.sh subtracts"))
	g.Expect(w.fake.PullRequests(repoName)).To(BeEmpty())

	is := w.issueState(n)
	g.Expect(is.Labels).To(ContainElement("agent-smith:failed"))
	g.Expect(is.Labels).NotTo(ContainElement("In Review"))
	g.Expect(is.Comments).To(HaveLen(2))
	g.Expect(is.Comments[0].Body).To(And(ContainSubstring("failed at step `test`"), ContainSubstring("❌ | test"),
		ContainSubstring("FAIL: add 2 3 gave 6"), ContainSubstring(wip)))
	g.Expect(is.Comments[1].Body).To(And(ContainSubstring("could not finish"), ContainSubstring("label the ticket again")))
	expectNoRepeats(g, bodies(is.Comments))
	g.Expect(w.progress(id)).To(ContainSubstring("sending the model back once"))
	kept, err := os.ReadFile(filepath.Join(w.runsDir, id, "result.md"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(kept)).To(ContainSubstring("Outcome: failed at step test"))
	w.expectNothingLeft()
}

func TestBlockingReviewGoesBackOnceThenFailsTheRunAtTheReviewStep(t *testing.T) {
	g := NewWithT(t)
	w := newWorld(t, "review-blocks.yaml", "")
	n := w.issue()
	id := w.label(n)

	r := w.await(id, runs.StateFailed)
	g.Expect(r.Step).To(Equal(pipeline.StepReview))
	g.Expect(r.Error).To(Equal("step review: the review still has 1 blocking findings after one fix: calc/add.sh: still undocumented"))
	progress := w.progress(id)
	g.Expect(progress).To(ContainSubstring("review: 1 blocking findings; sending the model back once"))
	g.Expect(strings.Count(progress, "`make test` passed")).To(Equal(2), "the fix for the review is tested again")
	g.Expect(pipelinetest.Show(t, w.bare, "agent-smith/"+strconv.Itoa(n)+"-wip", "add.sh")).To(ContainSubstring("$1 + $2"))
	is := w.issueState(n)
	g.Expect(is.Labels).To(ContainElement("agent-smith:failed"))
	for _, c := range is.Comments {
		g.Expect(c.Body).NotTo(ContainSubstring(token))
	}
	w.expectNothingLeft()
}

func TestPlanQuestionsParkTheRunUntilAnAnswerCommentResumesIt(t *testing.T) {
	g := NewWithT(t)
	w := newWorld(t, "questions.yaml", "")
	n := w.issue()
	id := w.label(n)

	r := w.await(id, runs.StateAwaitingInput)
	g.Expect(r.Step).To(Equal(pipeline.StepPlan))
	g.Expect(r.Questions).To(Equal(runs.Questions{Asked: []string{"Should add.sh print the sum of its arguments?"}, Round: 1}))
	is := w.issueState(n)
	g.Expect(is.Labels).To(ContainElement("agent-smith:awaiting-input"))
	g.Expect(bodies(is.Comments)).To(ContainElement(And(ContainSubstring("has questions"), ContainSubstring("1. Should add.sh print the sum"))))
	g.Expect(is.Comments).To(HaveLen(2), "the status comment and the questions")
	expectNoRepeats(g, bodies(is.Comments))
	// Nobody is held while a person thinks.
	w.expectNothingLeft()
	g.Expect(w.fake.PullRequests(repoName)).To(BeEmpty())

	// The run's comments are recorded as agent-smith's own: the questions'
	// webhook, however late, does not answer them.
	for _, own := range []string{r.StatusCommentID, r.QuestionsCommentID} {
		g.Expect(w.store.OwnComment(context.Background(), "issues", strconv.Itoa(n), own)).To(BeTrue(), own)
	}
	questions, err := strconv.ParseInt(r.QuestionsCommentID, 10, 64)
	g.Expect(err).NotTo(HaveOccurred())
	w.deliver(w.fake.IssueCommentEvent(repoName, questions, "created"), http.StatusOK)
	g.Expect(w.run(id).State).To(Equal(runs.StateAwaitingInput))

	comment := w.fake.AddComment(repoName, n, "Yes, the sum.", githubfake.User{Login: "alice"}, githubfake.AssociationOwner)
	resumed := w.deliver(w.fake.IssueCommentEvent(repoName, comment, "created"), http.StatusAccepted)
	g.Expect(resumed).To(Equal([]string{id}), "the answer resumes the same run")

	r = w.await(id, runs.StateSucceeded)
	g.Expect(r.Attempt).To(Equal(2))
	g.Expect(r.Answer).To(Equal(runs.Answer{Text: "Yes, the sum.", Author: "alice"}))
	g.Expect(pipelinetest.Show(t, w.bare, "agent-smith/"+strconv.Itoa(n), "add.sh")).To(ContainSubstring("$1 + $2"))
	g.Expect(w.fake.PullRequests(repoName)).To(HaveLen(1))
	is = w.issueState(n)
	g.Expect(is.Labels).To(ContainElement("agent-smith:done"))
	g.Expect(is.Comments[0].Body).To(And(ContainSubstring("agent-smith finished"), ContainSubstring("attempt 2")), "attempt 2 took over the status comment")
	g.Expect(is.Comments).To(HaveLen(4), "the status comment, the questions, the answer and the notice of the end")
	expectNoRepeats(g, bodies(is.Comments))
	w.expectNothingLeft()
}

func TestInitProjectCommitsOnlyTheBootstrapFiles(t *testing.T) {
	g := NewWithT(t)
	w := newWorld(t, "init-project.yaml", "")
	n := w.issue("init")
	id := w.label(n)

	r := w.await(id, runs.StateSucceeded)
	g.Expect(r.Pipeline).To(Equal(config.PipelineInitProject))
	branch := "agent-smith/" + strconv.Itoa(n)
	g.Expect(pipelinetest.Show(t, w.bare, branch, ".agentsmith/context.yaml")).To(ContainSubstring("purpose: adds two numbers"))
	g.Expect(pipelinetest.Show(t, w.bare, branch, ".agentsmith/coding-principles.md")).To(ContainSubstring("POSIX sh only"))
	g.Expect(pipelinetest.Show(t, w.bare, branch, ".agentsmith/runs/"+id+"/result.md")).To(BeEmpty(), "artifacts are not committed by default")
	g.Expect(filepath.Join(w.runsDir, id, "result.md")).To(BeAnExistingFile(), "they stay in the runs directory")
	g.Expect(pipelinetest.Show(t, w.bare, branch, "scratch.txt")).To(BeEmpty(), "only the bootstrap files are committed")
	g.Expect(pipelinetest.Git(t, w.bare, "log", "-1", "--format=%an <%ae>|%(trailers:key=Signed-off-by)", branch)).To(Equal("Agent Smith <agent-smith@users.noreply.local>|"), "the default author, no sign-off")
	prs := w.fake.PullRequests(repoName)
	g.Expect(prs).To(HaveLen(1))
	g.Expect(prs[0].Title).To(Equal("chore: prepare the repository for agent-smith (#" + strconv.Itoa(n) + ")"))
	g.Expect(w.progress(id)).NotTo(ContainSubstring("[plan]"))
	w.expectNothingLeft()
}

func TestAddFeatureWritesTestsAndDocsAndRunsTheNewTests(t *testing.T) {
	g := NewWithT(t)
	w := newWorld(t, "add-feature.yaml", "")
	n := w.issue("feature")
	id := w.label(n)

	w.await(id, runs.StateSucceeded)
	branch := "agent-smith/" + strconv.Itoa(n)
	for _, f := range []string{"sub.sh", "test_sub.sh"} {
		g.Expect(pipelinetest.Show(t, w.bare, branch, f)).NotTo(BeEmpty(), f)
	}
	g.Expect(pipelinetest.Show(t, w.bare, branch, "README.md")).To(ContainSubstring("subtracts (sub.sh)"))
	progress := w.progress(id)
	g.Expect(progress).To(And(ContainSubstring("phase write-tests started"), ContainSubstring("phase write-docs started")))
	g.Expect(progress).To(ContainSubstring("calc: `make test` passed"), "the tests written run in the test step")
	g.Expect(w.fake.PullRequests(repoName)[0].Title).To(HavePrefix("feat: "))
}

func mustAtoi(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}
