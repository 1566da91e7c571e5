package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/agent-smith/agent-smith/internal/cli"
	"github.com/agent-smith/agent-smith/internal/version"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/runs/pipeline/pipelinetest"
	"github.com/agent-smith/agent-smith/sandbox/kube"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

const (
	e2eGitHubToken   = "ghp_e2eKubeTokenThatMustNeverLeak0123456789"
	e2eGitHubSecret  = "e2e-kube-webhook-secret"
	e2eGitHubRepo    = "acme/calc"
	e2eAgentRegistry = "registry.test"
)

// gitHubServeConfig is the replicas' agentsmith.yml for the calc project
// on the GitHub fake: %[1]s is the fake's root, %[2]s the model script,
// %[3]s the runs directory, %[4]s the Redis key prefix, %[5]d the replica's
// queue workers.
const gitHubServeConfig = `
agents:
  replay: {type: scripted, script: %[2]s}
repos:
  calc: {type: github, url: "%[1]s/acme/calc", auth: gh}
trackers:
  issues:
    type: github
    url: "%[1]s/api/v3"
    project: acme/calc
    auth: gh
    webhook_secret: ${E2E_WEBHOOK_SECRET}
projects:
  calc:
    agent: replay
    tracker: issues
    repos: [calc]
    github_trigger: {done_status: In Review}
orchestrator: {runs_dir: %[3]s}
sandbox:
  agent_registry: ` + e2eAgentRegistry + `
  ready_timeout_seconds: 60
  step_timeout_seconds: 60
queue: {redis_prefix: "%[4]s", shutdown_grace_seconds: 1, max_parallel_jobs: %[5]d}
skills: {source: default, version: v3.0.1}
secrets: {gh: "${GH_TOKEN}"}
`

// gitHubCalc is the calc project on the GitHub fake, its remote a bare
// repository: what the GitHub flows serve, whichever the sandbox backend.
type gitHubCalc struct {
	t       *testing.T
	fake    *githubfake.Server
	bare    string
	script  string
	runsDir string
	// world serves the project; bind sets it, as the backend's world needs
	// the project's git mirrors to be made.
	world *flowWorld
}

// newGitHubCalc builds the project with the model script at scriptPath.
func newGitHubCalc(t *testing.T, scriptPath string) *gitHubCalc {
	t.Helper()
	fake := githubfake.New(githubfake.WithToken(e2eGitHubToken))
	t.Cleanup(fake.Close)
	fake.AddRepo(e2eGitHubRepo, "main")
	t.Setenv("GH_TOKEN", e2eGitHubToken)
	t.Setenv("E2E_WEBHOOK_SECRET", e2eGitHubSecret)
	c := &gitHubCalc{t: t, fake: fake, bare: pipelinetest.BareRepo(t, pipelinetest.Calc), script: scriptPath, runsDir: t.TempDir()}
	fake.ServeGit(e2eGitHubRepo, c.bare)
	return c
}

// bind makes w the world that serves the project.
func (c *gitHubCalc) bind(w *flowWorld) { c.world = w }

// gitHubWorld is the calc project served by replicas on Kubernetes.
type gitHubWorld struct {
	*kubeWorld
	*gitHubCalc
}

// newGitHubWorld builds the world with the model script at scriptPath.
func newGitHubWorld(t *testing.T, scriptPath string) *gitHubWorld {
	t.Helper()
	calc := newGitHubCalc(t, scriptPath)
	w := newKubeWorld(t, kubeWorldOptions{
		secret:     map[string]string{"GH_TOKEN": e2eGitHubToken},
		agentImage: e2eAgentRegistry + "/agent-smith:" + version.Version,
	})
	calc.bind(w.flowWorld)
	return &gitHubWorld{kubeWorld: w, gitHubCalc: calc}
}

// serveYAML is the replicas' agentsmith.yml with workers queue workers
// per replica.
func (c *gitHubCalc) serveYAML(workers int) string {
	return fmt.Sprintf(gitHubServeConfig, c.fake.URL, c.script, c.runsDir, c.world.prefix, workers)
}

// serveConfig writes serveYAML to a file.
func (c *gitHubCalc) serveConfig(workers int) string {
	return c.world.writeConfig([]byte(c.serveYAML(workers)))
}

// issue opens the calc bug. The fake does not see git pushes, and GitHub
// only takes a pull request from a branch it has: the run's branch is made
// known up front.
func (c *gitHubCalc) issue() int {
	n := c.fake.CreateIssue(e2eGitHubRepo, githubfake.NewIssue{Title: "add.sh subtracts", Body: "`sh add.sh 2 3` prints -1, it should print 5.", Labels: []string{"calc", "bug"}})
	c.fake.CreateBranch(e2eGitHubRepo, "agent-smith/"+strconv.Itoa(n))
	return n
}

// webhookReply is the body of a replica's answer to a webhook delivery.
type webhookReply struct {
	Runs   []string `json:"runs"`
	Reason string   `json:"reason"`
}

// deliver posts the signed delivery d to the replica's GitHub webhook
// endpoint, expects wantStatus, and returns the answer.
func (c *gitHubCalc) deliver(to *replica, d githubfake.Delivery, wantStatus int) webhookReply {
	c.t.Helper()
	g := NewWithT(c.t)
	resp, err := githubfake.Send(context.Background(), http.DefaultClient, to.url+"/webhooks/github", e2eGitHubSecret, d)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	var body webhookReply
	g.Expect(json.NewDecoder(resp.Body).Decode(&body)).To(Succeed())
	g.Expect(resp.StatusCode).To(Equal(wantStatus), "%+v", body)
	return body
}

// label puts the trigger label on issue n as a person would and posts the
// signed issues.labeled delivery to the replica; it returns the run id of
// the 202 answer.
func (c *gitHubCalc) label(to *replica, n int) string {
	c.t.Helper()
	c.fake.AddLabels(e2eGitHubRepo, n, "agent-smith")
	body := c.deliver(to, c.fake.IssuesEvent(e2eGitHubRepo, n, "labeled", "agent-smith", githubfake.User{Login: "alice"}), http.StatusAccepted)
	NewWithT(c.t).Expect(body.Runs).To(HaveLen(1))
	return body.Runs[0]
}

// issueState is issue n as the fake holds it.
func (c *gitHubCalc) issueState(n int) githubfake.Issue {
	c.t.Helper()
	is, ok := c.fake.Issue(e2eGitHubRepo, n)
	NewWithT(c.t).Expect(ok).To(BeTrue(), "issue #%d", n)
	return is
}

// expectFixPublished checks what a successful run of issue n leaves
// behind: the fix on the run's branch of the remote, one pull request into
// main that fixes the issue, and the issue labeled done.
func (c *gitHubCalc) expectFixPublished(run runs.Run, n int) {
	c.t.Helper()
	g := NewWithT(c.t)
	branch := "agent-smith/" + strconv.Itoa(n)
	g.Expect(pipelinetest.Show(c.t, c.bare, branch, "add.sh")).To(ContainSubstring("echo $(( $1 + $2 ))"))
	g.Expect(pipelinetest.Show(c.t, c.bare, "main", "add.sh")).To(ContainSubstring("$1 - $2"))
	var prs []githubfake.PullRequest
	for _, pr := range c.fake.PullRequests(e2eGitHubRepo) {
		if pr.Head == branch {
			prs = append(prs, pr)
		}
	}
	g.Expect(prs).To(ConsistOf(HaveField("Base", "main")), "one pull request from %s", branch)
	g.Expect(prs[0].Body).To(And(ContainSubstring("Fixes #"+strconv.Itoa(n)), ContainSubstring("run `"+run.ID+"`")))
	g.Expect(run.PullRequests).To(HaveKeyWithValue("calc", HaveSuffix(fmt.Sprintf("/pull/%d", prs[0].Number))))

	is := c.issueState(n)
	g.Expect(is.Labels).To(ContainElements("agent-smith:done", "In Review"))
	g.Expect(is.Labels).NotTo(ContainElement("agent-smith:in-progress"))
	g.Expect(is.Comments).NotTo(BeEmpty())
	g.Expect(is.Comments[0].Body).To(And(ContainSubstring("agent-smith finished"), ContainSubstring(fmt.Sprintf("attempt %d", run.Attempt))),
		"the status comment shows the finished run")
	g.Expect(strconv.FormatInt(is.Comments[0].ID, 10)).To(Equal(run.StatusCommentID))
	for _, cm := range is.Comments {
		g.Expect(cm.Body).NotTo(ContainSubstring(e2eGitHubToken))
	}
}

func TestLabeledGitHubIssueBecomesAPullRequestThroughASandboxPod(t *testing.T) {
	g := NewWithT(t)
	script, err := filepath.Abs(filepath.Join("..", "..", "runs", "pipeline", "testdata", "fix-bug.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	w := newGitHubWorld(t, script)
	a := w.startReplica("orchestrator-0", w.serveConfig(4))
	n := w.issue()

	id := w.label(a, n)
	run := w.await(id, runs.StateSucceeded)

	g.Expect(run).To(And(HaveField("Attempt", 1), HaveField("Owner", a.owner)))
	w.expectFixPublished(run, n)
	progress := w.progress(id)
	g.Expect(progress).To(ContainSubstring("[test] calc: `make test` passed"), "the test step ran the repository's real test")
	g.Expect(progress).NotTo(ContainSubstring(e2eGitHubToken))

	// The run had one sandbox pod: the replica's, for the calc repository,
	// run by the kubelet, and deleted once the run ended.
	w.expectNothingLeft()
	lives := w.pods.lives()
	g.Expect(lives).To(HaveLen(1))
	expectSandboxPod(g, lives[0], run, "calc", 1, a.owner)
	g.Expect(lives[0].Deleted).To(BeTrue())
	pod := lives[0].Created
	job := kube.Spec{RunID: id, Attempt: 1, Fence: run.Fence, Repo: "calc"}.JobID()
	g.Expect(pod.Spec.InitContainers).To(HaveExactElements(
		HaveField("Image", e2eAgentRegistry+"/agent-smith:"+version.Version),
		And(HaveField("Name", kube.GateContainer), HaveField("Args", ContainElements("sandbox-gate", "--job-id", job, "--remote", w.fake.URL+"/"+e2eGitHubRepo)))))
	g.Expect(pod.Spec.Containers).To(ConsistOf(HaveField("Args", ContainElements("sandbox-agent", "--job-id", job))))
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		for _, e := range c.Env {
			g.Expect(e.Value).NotTo(ContainSubstring(e2eGitHubToken), "no credential in the pod spec")
		}
	}
	// The git token went to the fake's git with the gate's pushes.
	g.Expect(w.fake.GitRequests()).To(ContainElement(HaveField("Service", "git-receive-pack")))
	for _, r := range w.fake.GitRequests() {
		g.Expect(r.Authorized || r.User == "").To(BeTrue(), "git's first request asks without credentials; no other is refused: %+v", r)
	}
}

// slowFixScript is fix-bug on calc whose execution runs a command that
// blocks for ten minutes, longer than any flow waits, the first time any
// sandbox runs it (the one that creates the gate directory, %s) and takes
// no time after: the first attempt stays in that step until its replica
// stops, the next one passes straight through.
const slowFixScript = `
- slot: planning
  text: '{"summary": "add.sh subtracts its arguments instead of adding them.", "steps": [{"repo": "calc", "description": "Use + instead of - in add.sh."}], "files": ["add.sh"], "questions": []}'
- slot: execution
  tool_calls:
    - name: read_file
      arguments: {path: add.sh}
- slot: execution
  tool_calls:
    - name: edit_file
      arguments: {path: add.sh, old_string: "$1 - $2", new_string: "$1 + $2"}
- slot: execution
  tool_calls:
    - name: run_command
      arguments: {command: 'if mkdir %s 2>/dev/null; then sleep 600; fi; make test', timeout_seconds: 600}
- slot: execution
  tool_calls:
    - name: finish
      arguments: {summary: add.sh subtracted; it adds now and make test passes.}
- slot: review
  text: '{"approved": true, "findings": []}'
`

// writeSlowFixScript writes slowFixScript and returns its path and its
// gate directory.
func writeSlowFixScript(t *testing.T) (script, gate string) {
	t.Helper()
	// The sandboxes' users make the gate directory here.
	dir, err := os.MkdirTemp("", "agent-smith-slow-fix-")
	if err == nil {
		err = os.Chmod(dir, 0o777)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	gate, script = filepath.Join(dir, "first-attempt"), filepath.Join(dir, "slow-fix.yaml")
	if err := os.WriteFile(script, fmt.Appendf(nil, slowFixScript, gate), 0o644); err != nil {
		t.Fatal(err)
	}
	return script, gate
}

// inSlowStep waits for a run to be in slowFixScript's slow step.
func inSlowStep(t *testing.T, gate string) {
	t.Helper()
	NewWithT(t).Eventually(func() error { _, err := os.Stat(gate); return err }).
		WithTimeout(2*time.Minute).Should(Succeed(), "a run reaches the slow step")
}

func TestRunOfAStoppedReplicaIsFinishedByAnotherAsItsNextAttempt(t *testing.T) {
	g := NewWithT(t)
	script, gate := writeSlowFixScript(t)
	w := newGitHubWorld(t, script)
	config := w.serveConfig(4)
	a := w.startReplica("orchestrator-0", config)
	n := w.issue()
	id := w.label(a, n)

	// Replica A executes the run and is in its slow step: the run is
	// active, attempt 1, and its sandbox pod is A's.
	inSlowStep(t, gate)
	run := w.run(g, id)
	g.Expect(run).To(And(HaveField("State", runs.StateRunning), HaveField("Attempt", 1), HaveField("Owner", a.owner)))
	podA := &corev1.Pod{}
	g.Expect(w.c.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: kube.PodName(id, run.Fence, "calc")}, podA)).To(Succeed())
	expectSandboxPod(g, podLife{Created: *podA, Phases: []corev1.PodPhase{podA.Status.Phase}}, run, "calc", 1, a.owner)

	// Replica B joins; A, the leader, is stopped while the step still runs.
	// A hands the run back once its grace period is over, and B takes it.
	// A releases the lease as it goes, and says so without an error.
	holderA := w.leaseHolder(g) // A, the only replica, holds it
	b := w.startReplica("orchestrator-1", config)
	g.Expect(a.stop()).To(Succeed())
	lease := &coordinationv1.Lease{}
	g.Expect(w.c.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: cli.LeaderLease}, lease)).To(Succeed())
	g.Expect(ptr.Deref(lease.Spec.HolderIdentity, "")).NotTo(Equal(holderA), "A released the lease as it stopped, long before it would expire")
	g.Expect(w.logs.String()).NotTo(ContainSubstring("leader election lost"), "a release is no error")

	run = w.await(id, runs.StateSucceeded)
	g.Expect(run).To(And(HaveField("Attempt", 2), HaveField("Owner", b.owner)))
	w.expectFixPublished(run, n)
	g.Expect(w.progress(id)).To(ContainSubstring("[test] calc: `make test` passed"))

	// A's pod and B's, each of its own start; both are gone now.
	w.expectNothingLeft()
	lives := w.pods.lives()
	g.Expect(lives).To(HaveLen(2))
	expectSandboxPod(g, lives[0], run, "calc", 1, a.owner)
	expectSandboxPod(g, lives[1], run, "calc", 2, b.owner)
	g.Expect(lives).To(HaveEach(HaveField("Deleted", true)))
}

func TestNonLeaderReplicaProvisionsAndFinishesTheRunsItTakes(t *testing.T) {
	g := NewWithT(t)
	script, gate := writeSlowFixScript(t)
	w := newGitHubWorld(t, script)
	// A leads, and its one queue worker is kept busy by a run in the slow
	// step.
	a := w.startReplica("orchestrator-0", w.serveConfig(1))
	busy := w.label(a, w.issue())
	inSlowStep(t, gate)
	leader := w.leaseHolder(g)

	// B, which does not lead, takes the next run: its sandbox pod, its
	// pull request.
	b := w.startReplica("orchestrator-1", w.serveConfig(4))
	n := w.issue()
	id := w.label(b, n)
	run := w.await(id, runs.StateSucceeded)
	g.Expect(run).To(And(HaveField("Attempt", 1), HaveField("Owner", b.owner)))
	g.Expect(w.leaseHolder(g)).To(Equal(leader), "B never led while it served the run")
	g.Expect(w.run(g, busy)).To(And(HaveField("State", runs.StateRunning), HaveField("Owner", a.owner)))
	w.expectFixPublished(run, n)

	var mine []podLife
	g.Eventually(func() []podLife {
		mine = nil
		for _, l := range w.pods.lives() {
			if l.Created.Labels[kube.LabelRun] == id {
				mine = append(mine, l)
			}
		}
		return mine
	}).Should(ConsistOf(HaveField("Deleted", true)), "the run's one sandbox pod is gone")
	expectSandboxPod(g, mine[0], run, "calc", 1, b.owner)
}

func TestNonLeaderReplicaTakesAChangedConfigMapWithoutRestart(t *testing.T) {
	g := NewWithT(t)
	script, err := filepath.Abs(filepath.Join("..", "..", "runs", "pipeline", "testdata", "fix-bug.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	w := newGitHubWorld(t, script)
	const rotated = "e2e-kube-webhook-secret-rotated"
	t.Setenv("E2E_ROTATED_SECRET", rotated)
	w.startReplica("orchestrator-0", w.serveConfig(4))
	leader := w.leaseHolder(g)
	b := w.startReplica("orchestrator-1", w.serveConfig(4))
	ping := func(secret string) int {
		resp, err := githubfake.Send(context.Background(), http.DefaultClient, b.url+"/webhooks/github", secret, w.fake.PingEvent())
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(resp.Body.Close()).To(Succeed())
		return resp.StatusCode
	}
	g.Expect(ping(e2eGitHubSecret)).To(Equal(http.StatusOK))

	// The operator rotates the webhook secret in the agent-smith-config
	// ConfigMap; B, which does not lead, serves with the new one.
	yml := strings.Replace(w.serveYAML(4), "${E2E_WEBHOOK_SECRET}", "${E2E_ROTATED_SECRET}", 1)
	g.Expect(w.c.Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "agent-smith-config"},
		Data:       map[string]string{"agentsmith.yml": yml},
	})).To(Succeed())
	g.Eventually(func() int { return ping(rotated) }).WithTimeout(time.Minute).Should(Equal(http.StatusOK))
	g.Expect(ping(e2eGitHubSecret)).To(Equal(http.StatusUnauthorized), "the old secret is refused")
	g.Expect(w.leaseHolder(g)).To(Equal(leader), "B never led")
}
