package gitlab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
	"github.com/agent-smith/agent-smith/trackers/gitlab"
	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
	"github.com/agent-smith/agent-smith/trackers/intake"
)

func TestMain(m *testing.M) {
	testenv.Main(m)
}

const webhookSecret = "gitlab-webhook-secret"

// endToEndConfig is an agentsmith.yml with one GitLab tracker whose issues
// labeled "shop" belong to the shop project. %[1]s is the fake's root URL.
const endToEndConfig = `
agents:
  replay: {type: scripted, script: /etc/agent-smith/fix-bug.json}
repos:
  shop-api: {type: gitlab, url: "%[1]s/acme/platform/shop-api.git", auth: gl}
trackers:
  shop:
    type: gitlab
    url: "%[1]s"
    project: acme/shop
    auth: gl
    webhook_secret: ${GITLAB_WEBHOOK_SECRET}
    trigger_labels: [agent-smith]
projects:
  shop:
    agent: replay
    tracker: shop
    repos: [shop-api]
    gitlab_trigger:
      project_resolution: {strategy: tag, value: shop}
      done_status: closed
skills: {source: path, path: /srv/skills}
secrets: {gl: "${GITLAB_TOKEN}"}
`

// endToEnd is the webhook endpoint on a real HTTP server, in front of a
// run store on the package's redis-server and a GitLab tracker on a fake.
type endToEnd struct {
	fake    *gitlabfake.Server
	store   *runs.Store
	srv     *httptest.Server
	cfg     *config.Config
	tracker *gitlab.Tracker
}

var prefixes atomic.Int64

func newEndToEnd(t *testing.T) *endToEnd {
	t.Helper()
	fake := gitlabfake.New(gitlabfake.WithBotToken(token, botUser))
	t.Cleanup(fake.Close)
	for _, p := range []string{issuesProject, codeProject} {
		fake.AddProject(p, "main")
		fake.AddMember(p, botUser, gitlabfake.AccessMaintainer)
	}
	for user, level := range map[string]int{"dev": gitlabfake.AccessDeveloper, "guest": gitlabfake.AccessGuest, "alice": gitlabfake.AccessReporter} {
		fake.AddUser(user)
		fake.AddMember(issuesProject, user, level)
	}
	env := map[string]string{"GITLAB_WEBHOOK_SECRET": webhookSecret, "GITLAB_TOKEN": token}
	cfg, err := config.Parse(fmt.Appendf(nil, endToEndConfig, fake.URL), "gitlab_test.yml", func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}, config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	store, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: "gl" + strconv.FormatInt(prefixes.Add(1), 10) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := gitlab.New("shop", cfg.Trackers["shop"], cfg, gitlab.WithHTTPClient(fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.RefreshMembers(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := intake.New(cfg, map[string]trackers.Tracker{"shop": tr}, intake.StoreRuns(store), logr.Discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &endToEnd{fake: fake, store: store, srv: srv, cfg: cfg, tracker: tr}
}

type answer struct {
	Status  int
	Outcome string   `json:"outcome"`
	Reason  string   `json:"reason"`
	Runs    []string `json:"runs"`
	Error   string   `json:"error"`
}

// deliver sends d to /webhooks/gitlab with secret as its token.
func (e *endToEnd) deliver(t *testing.T, secret string, d gitlabfake.Delivery) answer {
	t.Helper()
	resp, err := gitlabfake.Send(context.Background(), e.srv.Client(), e.srv.URL+"/webhooks/gitlab", secret, d)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("reply %d is not JSON: %q", resp.StatusCode, raw)
	}
	return a
}

func (e *endToEnd) queued(t *testing.T) []runs.Run {
	t.Helper()
	rs, err := e.store.List(context.Background(), runs.StateQueued, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestIssueHookQueuesOneRunAndItsRetryNone(t *testing.T) {
	g := NewWithT(t)
	e := newEndToEnd(t)
	iid := e.fake.CreateIssue(issuesProject, gitlabfake.NewIssue{Title: "Checkout fails", Labels: []string{"shop", "agent-smith"}})
	d := e.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "update", LabelsBefore: []string{"shop"}, By: "alice"})

	first := e.deliver(t, webhookSecret, d)
	g.Expect(first.Status).To(Equal(http.StatusAccepted), "%+v", first)
	g.Expect(first.Runs).To(HaveLen(1))
	queued := e.queued(t)
	g.Expect(queued).To(HaveLen(1))
	g.Expect(queued[0]).To(And(
		HaveField("ID", first.Runs[0]), HaveField("Project", "shop"), HaveField("Tracker", "shop"),
		HaveField("Ticket", strconv.Itoa(iid)), HaveField("DeliveryID", d.IdempotencyKey),
		HaveField("TicketURL", e.fake.URL+"/acme/shop/-/issues/"+strconv.Itoa(iid))))

	// GitLab retries with the same Idempotency-Key (and a new event UUID).
	again := e.deliver(t, webhookSecret, d.Redelivery())
	g.Expect(again.Status).To(Equal(http.StatusOK), "%+v", again)
	g.Expect(again.Reason).To(ContainSubstring("duplicate delivery"))
	g.Expect(e.queued(t)).To(HaveLen(1), "the retry queues nothing")
}

func TestDeliveriesThroughTheEndpoint(t *testing.T) {
	cases := []struct {
		name   string
		secret string
		send   func(e *endToEnd, iid int) gitlabfake.Delivery
		status int
		reason string
		queued int
	}{
		{"note with the keyword by a developer", webhookSecret,
			func(e *endToEnd, iid int) gitlabfake.Delivery {
				return e.fake.NoteHook(issuesProject, e.fake.AddNote(issuesProject, iid, "/agent-smith fix-bug", "dev"), "create")
			}, http.StatusAccepted, "", 1},
		{"note with the keyword by a guest", webhookSecret,
			func(e *endToEnd, iid int) gitlabfake.Delivery {
				return e.fake.NoteHook(issuesProject, e.fake.AddNote(issuesProject, iid, "/agent-smith fix-bug", "guest"), "create")
			}, http.StatusOK, "comment author guest may not instruct agent-smith", 0},
		{"note on a merge request", webhookSecret,
			func(e *endToEnd, _ int) gitlabfake.Delivery {
				mr := e.fake.OpenMergeRequest(issuesProject, "fix", "main", "Fix")
				return e.fake.NoteHook(issuesProject, e.fake.AddMergeRequestNote(issuesProject, mr, "/agent-smith fix-bug", "dev"), "create")
			}, http.StatusOK, "merge requests are not tickets", 0},
		{"issue opened with the trigger label", webhookSecret,
			func(e *endToEnd, iid int) gitlabfake.Delivery {
				return e.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "open"})
			}, http.StatusAccepted, "", 1},
		{"issue closed", webhookSecret,
			func(e *endToEnd, iid int) gitlabfake.Delivery {
				return e.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "close"})
			}, http.StatusOK, "ticket closed: ticket 1 has no unfinished run", 0},
		{"wrong secret token", "guessed",
			func(e *endToEnd, iid int) gitlabfake.Delivery {
				return e.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "open"})
			}, http.StatusUnauthorized, "", 0},
		{"no secret token", "",
			func(e *endToEnd, iid int) gitlabfake.Delivery {
				return e.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "open"})
			}, http.StatusUnauthorized, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEndToEnd(t)
			iid := e.fake.CreateIssue(issuesProject, gitlabfake.NewIssue{Title: "Checkout fails", Labels: []string{"shop", "agent-smith"}})
			a := e.deliver(t, tc.secret, tc.send(e, iid))
			g.Expect(a.Status).To(Equal(tc.status), "%+v", a)
			if tc.reason != "" {
				g.Expect(a.Reason).To(ContainSubstring(tc.reason))
			}
			if tc.status == http.StatusUnauthorized {
				g.Expect(a.Error).To(ContainSubstring("X-Gitlab-Token"))
				g.Expect(a.Error).NotTo(ContainSubstring(webhookSecret))
			}
			g.Expect(e.queued(t)).To(HaveLen(tc.queued))
		})
	}
}

// TestDeliveriesOfAnotherProjectAreNotTheTrackers replays GitLab's Issue
// Hook example (issue 23 of gitlabhq/gitlab-test, project id 1, label
// agent-smith added) with the tracker's token, as a group webhook would
// send it to a tracker of another project of the group: 200, and no run
// for that tracker's issue 23. The same bytes to a tracker of that project
// (by its path in another case, its numeric id, or a path it was renamed
// to since) queue one.
func TestDeliveriesOfAnotherProjectAreNotTheTrackers(t *testing.T) {
	body, err := os.ReadFile("testdata/issue_hook.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, project string
		status        int
		reason        string
	}{
		{"tracker of another project", "acme/shop", http.StatusOK,
			"not this tracker's repository (the delivery is for project gitlabhq/gitlab-test; tracker docs reads acme/shop)"},
		{"tracker of that project, its path in another case", "GitlabHQ/Gitlab-Test", http.StatusAccepted, ""},
		{"tracker of that project by its id", "1", http.StatusAccepted, ""},
		{"tracker of that project renamed since", "gitlabhq/renamed", http.StatusAccepted, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newDocsEndToEnd(t, tc.project)
			a := e.deliver(t, webhookSecret, gitlabfake.Event("Issue Hook", body))
			g.Expect(a.Status).To(Equal(tc.status), "%+v", a)
			if tc.reason != "" {
				g.Expect(a.Reason).To(Equal(tc.reason))
				g.Expect(e.queued(t)).To(BeEmpty(), "no run for the tracker's own issue 23")
				return
			}
			g.Expect(e.queued(t)).To(ConsistOf(HaveField("Ticket", "23")))
		})
	}
}

// newDocsEndToEnd is the endpoint with a tracker named docs of project
// (a path or an id), whose project api resolves tickets labelled API.
func newDocsEndToEnd(t *testing.T, project string) *endToEnd {
	t.Helper()
	fake := gitlabfake.New(gitlabfake.WithBotToken(token, botUser))
	t.Cleanup(fake.Close)
	path := project
	if project == "1" {
		path = "gitlabhq/gitlab-test"
	}
	fake.AddProject(path, "master")
	fake.AddMember(path, botUser, gitlabfake.AccessMaintainer)
	if project != "acme/shop" {
		// The example's project: id 1 wherever it lives now.
		fake.SetProjectID(path, 1)
	}
	yml := fmt.Sprintf(`
agents: {replay: {type: scripted, script: /etc/agent-smith/fix-bug.json}}
repos: {api: {type: gitlab, url: "%[1]s/acme/api.git", auth: gl}}
trackers:
  docs: {type: gitlab, url: "%[1]s", project: "%[2]s", auth: gl, webhook_secret: %[3]s, trigger_labels: [agent-smith]}
projects:
  api: {agent: replay, tracker: docs, repos: [api], trigger: {project_resolution: {strategy: tag, value: API}}}
skills: {source: path, path: /srv/skills}
secrets: {gl: %[4]s}
`, fake.URL, project, webhookSecret, token)
	cfg, err := config.Parse([]byte(yml), "docs.yml", func(string) (string, bool) { return "", false },
		config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	store, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: "gl" + strconv.FormatInt(prefixes.Add(1), 10) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := gitlab.New("docs", cfg.Trackers["docs"], cfg, gitlab.WithHTTPClient(fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	// As serve's start does: the project's id is learned with its members.
	if err := tr.RefreshMembers(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := intake.New(cfg, map[string]trackers.Tracker{"docs": tr}, intake.StoreRuns(store), logr.Discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &endToEnd{fake: fake, store: store, srv: srv, cfg: cfg, tracker: tr}
}

// TestWithdrawalCancelsTheRun: closing the issue, or taking its trigger
// label off, cancels its run on behalf of the tracker; agent-smith's own
// lifecycle edit does not, nor does anything once the project's
// cancel_when says no.
func TestWithdrawalCancelsTheRun(t *testing.T) {
	cases := []struct {
		name string
		// off turns cancel_when off first; change is what happens to the
		// issue and the delivery that reports it.
		off    bool
		change func(e *endToEnd, iid int) gitlabfake.Delivery
		reason string
	}{
		{name: "issue closed", reason: "ticket closed", change: func(e *endToEnd, iid int) gitlabfake.Delivery {
			e.fake.CloseIssue(issuesProject, iid)
			return e.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "close", By: "alice"})
		}},
		{name: "trigger label removed", reason: "label agent-smith removed", change: func(e *endToEnd, iid int) gitlabfake.Delivery {
			e.fake.RemoveLabels(issuesProject, iid, "agent-smith")
			return e.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "update", LabelsBefore: []string{"shop", "agent-smith"}, By: "alice"})
		}},
		{name: "own lifecycle edit", change: func(e *endToEnd, iid int) gitlabfake.Delivery {
			ctx, id := context.Background(), strconv.Itoa(iid)
			if err := e.tracker.SetLifecycle(ctx, id, trackers.LifecycleQueued); err != nil {
				t.Fatal(err)
			}
			if err := e.tracker.SetLifecycle(ctx, id, trackers.LifecycleInProgress); err != nil {
				t.Fatal(err)
			}
			return e.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "update",
				LabelsBefore: []string{"shop", "agent-smith", "agent-smith:queued"}, By: botUser})
		}},
		{name: "closed with cancel_when off", off: true, change: func(e *endToEnd, iid int) gitlabfake.Delivery {
			e.fake.CloseIssue(issuesProject, iid)
			return e.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "close", By: "alice"})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEndToEnd(t)
			if tc.off {
				e.cfg.Projects["shop"].Trigger().CancelWhen = config.CancelWhen{}
			}
			iid := e.fake.CreateIssue(issuesProject, gitlabfake.NewIssue{Title: "Checkout fails", Labels: []string{"shop", "agent-smith"}})
			queued := e.deliver(t, webhookSecret, e.fake.IssueHook(issuesProject, iid, gitlabfake.IssueChange{Action: "open", By: "alice"}))
			g.Expect(queued.Runs).To(HaveLen(1), "%+v", queued)
			id := queued.Runs[0]

			a := e.deliver(t, webhookSecret, tc.change(e, iid))
			run, err := e.store.Get(context.Background(), id)
			g.Expect(err).NotTo(HaveOccurred())
			if tc.reason == "" {
				g.Expect(a.Status).To(Equal(http.StatusOK), "%+v", a)
				g.Expect(run.State).To(Equal(runs.StateQueued))
				return
			}
			g.Expect(a).To(And(HaveField("Status", http.StatusAccepted), HaveField("Outcome", "cancelled"), HaveField("Runs", []string{id})))
			g.Expect(a.Reason).To(Equal(tc.reason + ": cancelled run " + id))
			g.Expect(run).To(And(HaveField("State", runs.StateCancelled), HaveField("Cancel.By", "tracker shop"), HaveField("Cancel.Reason", tc.reason)))
		})
	}
}
