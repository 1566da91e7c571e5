package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/azuredevops"
	"github.com/agent-smith/agent-smith/trackers/azuredevops/adofake"
	"github.com/agent-smith/agent-smith/trackers/connect"
	"github.com/agent-smith/agent-smith/trackers/intake"
)

// todoList is the seed's TodoList example: config/testdata/todolist.yml
// loaded with its environment, its acme-platform tracker built against a
// fake acme-org organization, and the webhook endpoint on a real HTTP
// server queuing runs on the package's redis-server.
type todoList struct {
	fake    *adofake.Server
	cfg     *config.Config
	tracker *azuredevops.Tracker
	store   *runs.Store
	url     string
}

const (
	testPAT    = "todolist-personal-access-token"
	testSecret = "todolist-webhook-secret"
)

var dana = adofake.Identity{DisplayName: "Dana Dev", UniqueName: "dana@acme.example", ID: "d4a"}

func newTodoList(t *testing.T) *todoList {
	t.Helper()
	t.Setenv("AZURE_OPENAI_API_KEY", "azure-openai-test-key")
	t.Setenv("AZURE_DEVOPS_TOKEN", testPAT)
	t.Setenv("AZURE_DEVOPS_WEBHOOK_SECRET", testSecret)
	cfg, err := config.Load("../../../config/testdata/todolist.yml", os.LookupEnv, config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	if err != nil {
		t.Fatal(err)
	}
	fake := adofake.New(adofake.WithOrganization("acme-org"), adofake.WithToken(testPAT))
	t.Cleanup(fake.Close)
	fake.AddProject("Platform")
	tr, err := azuredevops.New("acme-platform", cfg.Trackers["acme-platform"], cfg,
		azuredevops.WithBaseURL(fake.OrgURL()), azuredevops.WithHTTPClient(fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	// As serve's start does (connect.Warm): comment deliveries wait for it.
	if _, err := tr.Self(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The fake numbers its notifications from 1 each time: a Redis that
	// remembers an earlier test (go test -count) would take them for
	// redeliveries.
	rds := testenv.SharedRedis(t)
	rds.Flush(t)
	store, err := runs.NewStore(rds.Client(t), runs.Options{Prefix: "todolist:" + t.Name() + ":"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := intake.New(cfg, map[string]trackers.Tracker{"acme-platform": tr}, intake.StoreRuns(store), logr.Discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &todoList{fake: fake, cfg: cfg, tracker: tr, store: store, url: srv.URL + "/webhooks/azure_devops"}
}

type answer struct {
	Status int
	Body   struct {
		Outcome string   `json:"outcome"`
		Reason  string   `json:"reason"`
		Runs    []string `json:"runs"`
		Error   string   `json:"error"`
	}
}

func (e *todoList) deliver(t *testing.T, h http.Header, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, &a.Body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return a
}

func (e *todoList) queued(t *testing.T) []runs.Run {
	t.Helper()
	rs, err := e.store.List(context.Background(), runs.StateQueued, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestTodoListWorkItemUpdateQueuesOneRunForItsProject(t *testing.T) {
	g := NewWithT(t)
	e := newTodoList(t)
	id := e.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Type: "Bug", Title: "Due dates shift by one day",
		State: "Active", AreaPath: `Platform\TodoList\Api`, Tags: []string{"bug"}, CreatedBy: dana})
	d := e.fake.Update(id, dana, adofake.AddTags("agent-smith"))

	first := e.deliver(t, d.Header(testSecret), d.Body)
	g.Expect(first.Status).To(Equal(http.StatusAccepted), "%+v", first.Body)
	queued := e.queued(t)
	g.Expect(queued).To(HaveLen(1))
	run := queued[0]
	g.Expect(first.Body.Runs).To(Equal([]string{run.ID}))
	g.Expect(run.Project).To(Equal("azuredevops-todolist"))
	g.Expect(run.Repos).To(Equal([]string{"todolist-api", "todolist-worker", "todolist-web", "todolist-docs"}))
	g.Expect(run.Tracker).To(Equal("acme-platform"))
	g.Expect(run.Ticket).To(Equal(strconv.Itoa(id)))
	g.Expect(run.TicketURL).To(Equal(e.fake.OrgURL() + "/Platform/_workitems/edit/" + strconv.Itoa(id)))
	g.Expect(run.Pipeline).To(Equal("fix-bug"), "the bug tag maps to fix-bug in pipeline_triggers")
	g.Expect(run.DeliveryID).To(Equal(d.ID))

	again := e.deliver(t, d.Header(testSecret), d.Body)
	g.Expect(again.Status).To(Equal(http.StatusOK), "%+v", again.Body)
	g.Expect(again.Body.Reason).To(ContainSubstring("duplicate delivery"))
	g.Expect(e.queued(t)).To(HaveLen(1), "the redelivery queues nothing")
	g.Expect(e.fake.Requests()).To(ConsistOf(HaveField("Path", HavePrefix("/_apis/connectionData?"))),
		"the webhook path never calls Azure DevOps (only the start learned which account the token is)")
}

func TestTodoListDeliveriesThatAreNotWorkQueueNothing(t *testing.T) {
	cases := []struct {
		name     string
		delivery func(e *todoList) (http.Header, []byte)
		status   int
		reason   string
	}{
		{"work item outside the TodoList area", func(e *todoList) (http.Header, []byte) {
			id := e.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Title: "x", State: "Active", AreaPath: `Platform\Billing`})
			d := e.fake.Update(id, dana, adofake.AddTags("agent-smith"))
			return d.Header(testSecret), d.Body
		}, http.StatusOK, `area path "Platform\\Billing" is not under "Platform\\TodoList"`},
		{"area whose name only starts like TodoList", func(e *todoList) (http.Header, []byte) {
			id := e.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Title: "x", State: "Active", AreaPath: `Platform\TodoListLegacy`})
			d := e.fake.Update(id, dana, adofake.AddTags("agent-smith"))
			return d.Header(testSecret), d.Body
		}, http.StatusOK, "is not under"},
		{"a tag that is not a trigger tag", func(e *todoList) (http.Header, []byte) {
			id := e.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Title: "x", State: "Active", AreaPath: `Platform\TodoList`})
			d := e.fake.Update(id, dana, adofake.AddTags("feature"))
			return d.Header(testSecret), d.Body
		}, http.StatusOK, `tag "feature" is not a trigger tag`},
		{"wrong secret", func(e *todoList) (http.Header, []byte) {
			id := e.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Title: "x", State: "Active", AreaPath: `Platform\TodoList`})
			d := e.fake.Update(id, dana, adofake.AddTags("agent-smith"))
			return d.Header("not-the-secret"), d.Body
		}, http.StatusUnauthorized, ""},
		{"no credential", func(e *todoList) (http.Header, []byte) {
			id := e.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Title: "x", State: "Active", AreaPath: `Platform\TodoList`})
			d := e.fake.Update(id, dana, adofake.AddTags("agent-smith"))
			return d.Header(""), d.Body
		}, http.StatusUnauthorized, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newTodoList(t)
			h, body := tc.delivery(e)
			a := e.deliver(t, h, body)
			g.Expect(a.Status).To(Equal(tc.status), "%+v", a.Body)
			g.Expect(a.Body.Reason).To(ContainSubstring(tc.reason))
			g.Expect(e.queued(t)).To(BeEmpty())
		})
	}
}

func TestTodoListKeywordCommentQueuesTheNamedPipeline(t *testing.T) {
	g := NewWithT(t)
	e := newTodoList(t)
	id := e.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Title: "Add due date reminders", State: "New",
		AreaPath: `Platform\TodoList\Web`, Tags: []string{"agent-smith"}})
	d := e.fake.CommentedEvent(id, e.fake.AddComment(id, "<div>Please take this.</div><div>/agent-smith add-feature</div>", dana))
	a := e.deliver(t, d.Header(testSecret), d.Body)
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%+v", a.Body)
	queued := e.queued(t)
	g.Expect(queued).To(HaveLen(1))
	g.Expect(queued[0].Pipeline).To(Equal("add-feature"))
	g.Expect(queued[0].Project).To(Equal("azuredevops-todolist"))
}

func TestTodoListPollingQueuesAWorkItemOnce(t *testing.T) {
	g := NewWithT(t)
	e := newTodoList(t)
	ctx := context.Background()
	id := e.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Title: "Completed todos reappear", State: "New",
		AreaPath: `Platform\TodoList\Worker`, Tags: []string{"agent-smith", "feature"}})
	e.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Title: "other area", State: "New",
		AreaPath: `Platform\Billing`, Tags: []string{"agent-smith"}})
	e.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Title: "no trigger tag", State: "Active",
		AreaPath: `Platform\TodoList`, Tags: []string{"bug"}})

	var queued []string
	for round := range 3 {
		res, err := intake.Poll(ctx, e.cfg, "acme-platform", e.tracker, intake.StoreRuns(e.store))
		g.Expect(err).NotTo(HaveOccurred(), "round %d", round)
		g.Expect(res.Candidates).To(Equal(2))
		g.Expect(res.Unmatched).To(Equal(1), "the Billing work item is no project's")
		queued = append(queued, res.Queued...)
	}
	g.Expect(queued).To(HaveLen(1), "three polls queue the work item once")
	got := e.queued(t)
	g.Expect(got).To(HaveLen(1))
	g.Expect(got[0].Ticket).To(Equal(strconv.Itoa(id)))
	g.Expect(got[0].Pipeline).To(Equal("add-feature"), "pipeline_from_label maps feature to add-feature")

	// Once the worker has put a lifecycle tag on it, polling no longer
	// lists it at all.
	g.Expect(e.tracker.SetLifecycle(ctx, strconv.Itoa(id), trackers.LifecycleQueued)).To(Succeed())
	res, err := intake.Poll(ctx, e.cfg, "acme-platform", e.tracker, intake.StoreRuns(e.store))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(And(HaveField("Candidates", 1), HaveField("Unmatched", 1), HaveField("Queued", BeEmpty())))
}
