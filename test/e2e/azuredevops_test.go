package e2e

import (
	"bytes"
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
	"sigs.k8s.io/yaml"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/version"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/runs/pipeline/pipelinetest"
	"github.com/agent-smith/agent-smith/sandbox/kube"
	"github.com/agent-smith/agent-smith/trackers/azuredevops/adofake"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

const (
	todoListPAT    = "todolist-e2e-personal-access-token"
	todoListSecret = "todolist-e2e-webhook-secret"
	// todoListOrg is the organization URL the seed's config points at; the
	// flow points it at the fake.
	todoListOrg = "https://dev.azure.com/acme-org"
)

// todoListRepos are the two TodoList repositories the flow keeps of the
// seed's four: their Azure Repos name, and a small project whose test fails
// until the due-date bug in its script is fixed as fixed shows.
var todoListRepos = map[string]struct {
	name, script, fixed string
	files               map[string]string
}{
	"todolist-api": {"TodoList.Api", "due.sh", "echo $1\n", map[string]string{
		"due.sh":  "#!/bin/sh\n# due prints the day a todo is due: the day it was given.\necho $(( $1 + 1 ))\n",
		"test.sh": "out=$(sh due.sh 7)\nif [ \"$out\" = 7 ]; then echo PASS; else echo \"FAIL: due 7 gave $out\" >&2; exit 1; fi\n",
	}},
	"todolist-web": {"TodoList.Web", "label.sh", "echo \"due on day $1\"\n", map[string]string{
		"label.sh": "#!/bin/sh\n# label prints the due label of a todo due on day $1.\necho \"due on day $(( $1 + 1 ))\"\n",
		"test.sh":  "out=$(sh label.sh 7)\nif [ \"$out\" = \"due on day 7\" ]; then echo PASS; else echo \"FAIL: label 7 gave $out\" >&2; exit 1; fi\n",
	}},
}

// todoListScript fixes the due date in both repositories, runs both
// tests and finishes; the reviewer approves.
const todoListScript = `
- slot: planning
  text: '{"summary": "Due dates are shifted by one day in the API and in the web app.", "steps": [{"repo": "todolist-api", "description": "Keep the due day as given in due.sh."}, {"repo": "todolist-web", "description": "Label the due day as given in label.sh."}], "files": ["todolist-api/due.sh", "todolist-web/label.sh"], "questions": []}'
- slot: execution
  tool_calls:
    - name: read_file
      arguments: {path: todolist-api/due.sh}
    - name: read_file
      arguments: {path: todolist-web/label.sh}
- slot: execution
  tool_calls:
    - name: edit_file
      arguments: {path: todolist-api/due.sh, old_string: "$(( $1 + 1 ))", new_string: "$1"}
    - name: edit_file
      arguments: {path: todolist-web/label.sh, old_string: "$(( $1 + 1 ))", new_string: "$1"}
- slot: execution
  tool_calls:
    - name: run_command
      arguments: {command: sh test.sh, repo: todolist-api}
    - name: run_command
      arguments: {command: sh test.sh, repo: todolist-web}
- slot: execution
  tool_calls:
    - name: finish
      arguments: {summary: Due dates were shifted by one day; the API and the web app keep the day as given and both tests pass.}
- slot: review
  text: '{"approved": true, "findings": []}'
`

// todoListServeConfig derives the replicas' agentsmith.yml from the seed's
// TodoList config: its sandbox, tracker, trigger and project blocks as they
// are, with the organization at the fake, two of the four repositories
// (tested with their shell tests instead of dotnet and npm), a scripted
// agent in place of Azure OpenAI, and the flow's runs directory and Redis
// prefix.
func todoListServeConfig(t *testing.T, fake *adofake.Server, script, prefix string) []byte {
	t.Helper()
	raw, err := os.ReadFile(todoList)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	block := func(m map[string]any, key string) map[string]any {
		b, ok := m[key].(map[string]any)
		if !ok {
			t.Fatalf("%s: no %q block", todoList, key)
		}
		return b
	}
	onFake := func(url any) string { return strings.Replace(url.(string), todoListOrg, fake.OrgURL(), 1) }
	repos := block(doc, "repos")
	for name := range repos {
		if _, keep := todoListRepos[name]; !keep {
			delete(repos, name)
			continue
		}
		r := block(repos, name)
		r["url"], r["test_command"] = onFake(r["url"]), "sh test.sh"
	}
	tracker := block(block(doc, "trackers"), "acme-platform")
	tracker["url"] = onFake(tracker["url"])
	doc["agents"] = map[string]any{"replay": map[string]any{"type": "scripted", "script": script}}
	project := block(block(doc, "projects"), "azuredevops-todolist")
	project["agent"], project["repos"] = "replay", []any{"todolist-api", "todolist-web"}
	doc["orchestrator"] = map[string]any{"runs_dir": t.TempDir()}
	doc["queue"] = map[string]any{"redis_prefix": prefix, "shutdown_grace_seconds": 1}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// todoListWork is the TodoList project on the Azure DevOps fake: the
// seed's config, a bug work item, the two repositories (each remote a bare
// repository, with the run's branch known to Azure Repos) and the model
// script; what flow 2 serves, whichever the sandbox backend.
type todoListWork struct {
	t      *testing.T
	seed   *config.Config
	fake   *adofake.Server
	dana   adofake.Identity
	item   int
	branch string
	// bares are the repositories' remotes by repo key, served by the fake
	// at their clone URLs.
	bares  map[string]string
	script string
}

func newTodoListWork(t *testing.T) *todoListWork {
	t.Helper()
	t.Setenv("AZURE_OPENAI_API_KEY", "azure-openai-e2e-key")
	t.Setenv("AZURE_DEVOPS_TOKEN", todoListPAT)
	t.Setenv("AZURE_DEVOPS_WEBHOOK_SECRET", todoListSecret)
	seed, err := config.Load(todoList, os.LookupEnv, config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	if err != nil {
		t.Fatal(err)
	}
	fake := adofake.New(adofake.WithOrganization("acme-org"), adofake.WithToken(todoListPAT))
	t.Cleanup(fake.Close)
	w := &todoListWork{t: t, seed: seed, fake: fake, bares: map[string]string{},
		dana: adofake.Identity{DisplayName: "Dana Dev", UniqueName: "dana@acme.example", ID: "d4a"}}
	w.item = fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Type: "Bug", Title: "Due dates shift by one day",
		State: "Active", AreaPath: `Platform\TodoList\Api`, Tags: []string{"bug"}, CreatedBy: w.dana})
	w.branch = "agent-smith/" + strconv.Itoa(w.item)
	for key, r := range todoListRepos {
		fake.AddRepo("Platform", r.name, "main")
		// Azure Repos takes a pull request only from a branch it has; the
		// fake does not see git pushes.
		fake.CreateBranch("Platform", r.name, w.branch)
		w.bares[key] = pipelinetest.BareRepo(t, r.files)
		fake.ServeGit("Platform", r.name, w.bares[key])
	}
	w.script = filepath.Join(t.TempDir(), "todolist.yaml")
	if err := os.WriteFile(w.script, []byte(todoListScript), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// tag waits for the leader's first poll of the tracker; then, as a person
// would, tags the work item for agent-smith, which now reaches agent-smith
// by the service hook alone: the signed workitem.updated delivery posted
// to the replica. It returns the run id of the 202 answer.
func (w *todoListWork) tag(to *replica) string {
	w.t.Helper()
	g := NewWithT(w.t)
	g.Eventually(w.fake.Requests).WithTimeout(time.Minute).Should(ContainElement(HaveField("Path", ContainSubstring("/_apis/wit/wiql"))))
	d := w.fake.Update(w.item, w.dana, adofake.AddTags("agent-smith"))
	req, err := http.NewRequest(http.MethodPost, to.url+"/webhooks/azure_devops", bytes.NewReader(d.Body))
	g.Expect(err).NotTo(HaveOccurred())
	req.Header = d.Header(todoListSecret)
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	var answer struct {
		Runs   []string `json:"runs"`
		Reason string   `json:"reason"`
	}
	g.Expect(json.NewDecoder(resp.Body).Decode(&answer)).To(Succeed())
	g.Expect(resp.Body.Close()).To(Succeed())
	g.Expect(resp.StatusCode).To(Equal(http.StatusAccepted), "%+v", answer)
	g.Expect(answer.Runs).To(HaveLen(1))
	return answer.Runs[0]
}

// expectPublished checks what the succeeded run leaves behind, given its
// progress lines: each repository's test passed and its fix on the run's
// branch (main untouched), two pull requests into main linked to each other
// and to the work item, and the work item resolved with its status comment
// showing the finished attempt.
func (w *todoListWork) expectPublished(run runs.Run, progress string, attempt int) {
	w.t.Helper()
	g := NewWithT(w.t)
	g.Expect(run).To(And(HaveField("Project", "azuredevops-todolist"), HaveField("Pipeline", "fix-bug"),
		HaveField("Repos", []string{"todolist-api", "todolist-web"}), HaveField("Attempt", attempt)))
	for key, r := range todoListRepos {
		g.Expect(progress).To(ContainSubstring("[test] "+key+": `sh test.sh` passed"), key)
		g.Expect(pipelinetest.Show(w.t, w.bares[key], w.branch, r.script)).To(HaveSuffix(r.fixed), key)
		g.Expect(pipelinetest.Show(w.t, w.bares[key], "main", r.script)).To(Equal(r.files[r.script]), key)
	}

	prs := map[string]adofake.PullRequest{}
	for key, r := range todoListRepos {
		url := run.PullRequests[key]
		number, err := strconv.Atoi(url[strings.LastIndex(url, "/")+1:])
		g.Expect(err).NotTo(HaveOccurred(), "pull request URL %q of %s", url, key)
		pr, ok := w.fake.PullRequest("Platform", r.name, number)
		g.Expect(ok).To(BeTrue(), "pull request %d of %s", number, r.name)
		g.Expect(pr).To(And(HaveField("SourceRef", "refs/heads/"+w.branch), HaveField("TargetRef", "refs/heads/main"),
			HaveField("WorkItems", []string{strconv.Itoa(w.item)})), key)
		prs[key] = pr
	}
	g.Expect(prs["todolist-api"].Description).To(And(ContainSubstring("## Related pull requests"), ContainSubstring("- todolist-web: "+run.PullRequests["todolist-web"])))
	g.Expect(prs["todolist-web"].Description).To(And(ContainSubstring("## Related pull requests"), ContainSubstring("- todolist-api: "+run.PullRequests["todolist-api"])))

	wi, ok := w.fake.WorkItem(w.item)
	g.Expect(ok).To(BeTrue())
	g.Expect(wi.State).To(Equal("Resolved"))
	g.Expect(wi.Tags).To(ContainElement("agent-smith:done"))
	g.Expect(wi.Comments).To(ContainElement(And(HaveField("ID", mustAtoi(w.t, run.StatusCommentID)), HaveField("Format", "markdown"),
		HaveField("Text", And(ContainSubstring("### agent-smith finished"), ContainSubstring(fmt.Sprintf("attempt %d", attempt)))))))
	for _, c := range wi.Comments {
		g.Expect(c.Text).NotTo(ContainSubstring(todoListPAT))
	}
}

func TestTodoListWorkItemBecomesLinkedPullRequestsInTwoRepositories(t *testing.T) {
	g := NewWithT(t)
	work := newTodoListWork(t)
	w := newKubeWorld(t, kubeWorldOptions{
		secret:     map[string]string{"AZURE_DEVOPS_TOKEN": todoListPAT},
		agentImage: work.seed.Sandbox.ResolveAgentImage(version.OwnImage()),
	})
	a := w.startReplica("orchestrator-0", w.writeConfig(todoListServeConfig(t, work.fake, work.script, w.prefix)))

	id := work.tag(a)
	run := w.await(id, runs.StateSucceeded)
	work.expectPublished(run, w.progress(id), 1)

	// One sandbox pod per repository, in the toolchain image of its
	// language; both gone.
	w.expectNothingLeft()
	lives := w.pods.lives()
	g.Expect(lives).To(HaveLen(2))
	for _, l := range lives {
		repo := l.Created.Labels[kube.LabelRepo]
		expectSandboxPod(g, l, run, repo, 1, a.owner)
		g.Expect(l.Created.Spec.Containers[0].Image).To(Equal(work.seed.ToolchainImage("azuredevops-todolist", repo)), repo)
	}
	g.Expect([]string{lives[0].Created.Labels[kube.LabelRepo], lives[1].Created.Labels[kube.LabelRepo]}).
		To(ConsistOf("todolist-api", "todolist-web"))
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}
