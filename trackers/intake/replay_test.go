package intake

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
	"github.com/agent-smith/agent-smith/trackers/github"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

func TestReplayWithFreshDeliveryIDIsADuplicate(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.issue("agent-smith", "shop")
	d := e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice)
	first := e.deliver(t, "/webhooks/github/shop", shopSecret, d)
	g.Expect(first.Status).To(Equal(http.StatusAccepted), "%s", first)
	id := first.runs()[0]

	// The same signed body under fresh delivery ids: while the run is
	// queued and after it ended.
	replay := func() answer {
		return e.deliver(t, "/webhooks/github/shop", shopSecret, githubfake.Event(d.Event, d.Body))
	}
	a := replay()
	g.Expect(a.Status).To(Equal(http.StatusOK), "%s", a)
	g.Expect(a.Body).To(HaveKeyWithValue("reason", "shop: duplicate delivery, it led to run "+id))
	_, err := e.store.Apply(context.Background(), id, runs.EventCancel, runs.Update{Error: "done by the test"})
	g.Expect(err).NotTo(HaveOccurred())
	e.finalized(t)
	a = replay()
	g.Expect(a.Status).To(Equal(http.StatusOK), "%s", a)
	g.Expect(a.Body).To(HaveKeyWithValue("reason", ContainSubstring("duplicate delivery")))

	// Once the dedup keys are gone (72 hours later), the ticket's record
	// still knows the trigger.
	keys, err := e.rdb.Keys(context.Background(), e.prefix+"delivery:*").Result()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(keys).To(HaveLen(2), "the first delivery by its id and by its body; the replays added none")
	g.Expect(e.rdb.Del(context.Background(), keys...).Err()).To(Succeed())
	a = replay()
	g.Expect(a.Status).To(Equal(http.StatusOK), "%s", a)
	g.Expect(a.Body).To(HaveKeyWithValue("outcome", "not_new"))
	g.Expect(a.Body).To(HaveKeyWithValue("reason", And(
		ContainSubstring("ticket "+itoa(n)+" was already handled by run "+id+" (cancelled)"),
		ContainSubstring("label it again, edit it, or comment /agent-smith"))))
	g.Expect(e.runs.submits.Load()).To(Equal(int64(4)))
	g.Expect(e.queued(t)).To(BeEmpty())

	// A new trigger of the same ticket is new.
	again := e.fake.AddComment("acme/shop", n, "/agent-smith", githubfake.User{Login: "carol"}, githubfake.AssociationOwner)
	a = e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssueCommentEvent("acme/shop", again, "created"))
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%s", a)
}

func TestRandomEventHeadersMakeNoNewSeries(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n := e.issue("agent-smith", "shop")
	d := e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 375 {
				h := d.Header(shopSecret)
				h.Set("X-GitHub-Event", fmt.Sprintf("evt-%d-%d-%x", w, i, rand.Uint64()))
				h.Set("X-GitHub-Delivery", githubfake.NewDeliveryID())
				e.post(t, http.MethodPost, "/webhooks/github/shop", h, d.Body)
			}
		})
	}
	wg.Wait()
	families, err := e.reg.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	known := map[string]bool{"other": true, "unverified": true}
	for _, name := range e.trackers["shop"].KnownEvents() {
		known[name] = true
	}
	events := map[string]bool{}
	for _, f := range families {
		if f.GetName() != "agentsmith_webhook_deliveries_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "event" {
					events[l.GetValue()] = true
				}
			}
		}
	}
	g.Expect(events).To(Equal(map[string]bool{"other": true}), "3,000 random event names are one series")
	for ev := range events {
		g.Expect(known).To(HaveKey(ev))
	}
	g.Expect(e.runs.submits.Load()).To(BeZero())
}

func TestTicketOverItsDailyCapIsRefusedWithTheTimeItMayRunAgain(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	cfg := *e.cfg
	cfg.Limits.MaxRunsPerTicketPerDay = 1
	e.handler.Reload(&cfg, e.trackers)
	n := e.issue("agent-smith", "shop")
	first := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
	g.Expect(first.Status).To(Equal(http.StatusAccepted), "%s", first)
	_, err := e.store.Apply(context.Background(), first.runs()[0], runs.EventCancel, runs.Update{})
	g.Expect(err).NotTo(HaveOccurred())
	e.finalized(t)

	again := e.fake.AddComment("acme/shop", n, "/agent-smith", githubfake.User{Login: "carol"}, githubfake.AssociationOwner)
	a := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssueCommentEvent("acme/shop", again, "created"))
	g.Expect(a.Status).To(Equal(http.StatusOK), "%s", a)
	g.Expect(a.Body).To(HaveKeyWithValue("outcome", "capped"))
	g.Expect(a.Body).To(HaveKeyWithValue("reason", MatchRegexp(
		`^shop: ticket \d+ started 1 runs within a day \(limits.max_runs_per_ticket_per_day is 1\); trigger it again after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)))
	g.Expect(e.queued(t)).To(BeEmpty())
}

// TestOwnQuestionsCommentNeverResumesTheRun: agent-smith acting as a
// person (a personal token) posts its questions; whatever the comment's
// text, its recorded id keeps its webhook (delayed or redelivered) from
// answering the parked run, and so does any comment older than the
// questions. A person's answer below them resumes it.
func TestOwnQuestionsCommentNeverResumesTheRun(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ctx := context.Background()
	n := e.issue("agent-smith", "shop")
	first := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
	g.Expect(first.Status).To(Equal(http.StatusAccepted), "%s", first)
	id := first.runs()[0]

	earlier := e.fake.AddComment("acme/shop", n, "I saw this too.", githubfake.User{Login: "carol"}, githubfake.AssociationOwner)
	// Posted with the person's token, without agent-smith's mark: only
	// the recorded id says it is agent-smith's.
	questions := e.fake.AddComment("acme/shop", n, "1. SQLite or Postgres?", githubfake.TokenOwner, githubfake.AssociationCollaborator)
	g.Expect(e.store.RecordOwnComment(ctx, "shop", itoa(n), strconv.FormatInt(questions, 10))).To(Succeed())
	e.parkRunWith(t, id, strconv.FormatInt(questions, 10))

	for _, d := range []githubfake.Delivery{e.fake.IssueCommentEvent("acme/shop", questions, "created")} {
		for _, delivery := range []githubfake.Delivery{d, d.Redelivery()} {
			a := e.deliver(t, "/webhooks/github/shop", shopSecret, delivery)
			g.Expect(a.Status).To(Equal(http.StatusOK), "%s", a)
			g.Expect(a.Body).To(HaveKeyWithValue("reason", "comment "+strconv.FormatInt(questions, 10)+" is agent-smith's own: it posted it"))
		}
	}
	late := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssueCommentEvent("acme/shop", earlier, "created"))
	g.Expect(late.Status).To(Equal(http.StatusOK), "%s", late)
	g.Expect(late.Body).To(HaveKeyWithValue("reason", ContainSubstring("predates the questions of run "+id)))
	g.Expect(e.runs.resumes.Load()).To(BeZero())
	run, err := e.store.Get(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(run.State).To(Equal(runs.StateAwaitingInput))

	answer := e.fake.AddComment("acme/shop", n, "SQLite.", githubfake.User{Login: "carol"}, githubfake.AssociationOwner)
	a := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssueCommentEvent("acme/shop", answer, "created"))
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%s", a)
	g.Expect(a.Body).To(HaveKeyWithValue("outcome", "resumed"))
}

func TestUnmatchedLabelledTicketIsLoggedOncePerReason(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	var mu sync.Mutex
	var infos []string
	log := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		infos = append(infos, args)
	}, funcr.Options{Verbosity: 0})
	h, err := New(e.cfg, e.trackers, e.runs, log, nil)
	g.Expect(err).NotTo(HaveOccurred())
	srv := httptest.NewServer(h)
	defer srv.Close()
	e.srv = srv
	n := e.issue("agent-smith")
	for range 3 {
		a := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
		g.Expect(a.Status).To(Equal(http.StatusOK), "%s", a)
	}
	e.fake.AddLabels("acme/shop", n, "frontend-ish")
	e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
	// Not labelled with a trigger: nobody asked for work, nothing to say.
	e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", e.issue("bug"), "labeled", "bug", alice))
	mu.Lock()
	defer mu.Unlock()
	var notes []string
	for _, l := range infos {
		if strings.Contains(l, "matches no project") {
			notes = append(notes, l)
		}
	}
	g.Expect(notes).To(HaveLen(1), "three deliveries, one reason: logged once (%v)", infos)
	g.Expect(notes[0]).To(And(ContainSubstring(`"ticket"="`+itoa(n)+`"`), ContainSubstring(`no label \"shop\"`)))
}

// TestDeliveriesOfAnotherRepositoryAreNotTheTrackers replays the octokit
// issues.labeled example (issue 1 of Codertocat/Hello-World), signed with
// the tracker's secret, as an organization webhook would send it to a
// tracker of another repository: 200, and no run for that tracker's issue
// 1. The same bytes to a tracker of that repository (its name in another
// case, or renamed since and known by its id) queue one.
func TestDeliveriesOfAnotherRepositoryAreNotTheTrackers(t *testing.T) {
	body, err := os.ReadFile("testdata/octokit-issues.labeled.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, project string
		status        int
		reason        string
	}{
		{"tracker of another repository", "acme/shop", http.StatusOK,
			"not this tracker's repository (the delivery is for Codertocat/Hello-World; tracker hello reads acme/shop)"},
		{"tracker of that repository, named in lower case", "codertocat/hello-world", http.StatusAccepted, ""},
		{"tracker of that repository renamed since", "codertocat/hello-galaxy", http.StatusAccepted, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			h := newHelloEnv(t, tc.project)
			d := githubfake.Event("issues", body)
			a := h.env.deliver(t, "/webhooks/github", "hello-secret", d)
			g.Expect(a.Status).To(Equal(tc.status), "%s", a)
			if tc.reason != "" {
				g.Expect(a.Body).To(HaveKeyWithValue("reason", tc.reason))
				g.Expect(h.env.queued(t)).To(BeEmpty(), "no run for the tracker's own issue 1")
				return
			}
			g.Expect(h.env.queued(t)).To(ConsistOf(HaveField("Ticket", "1")))
		})
	}
}

// helloEnv is a GitHub tracker named hello whose project is configurable,
// on a fake that holds the octokit example's repository.
type helloEnv struct{ env *env }

func newHelloEnv(t *testing.T, project string) helloEnv {
	t.Helper()
	fake := githubfake.New(githubfake.WithToken(token))
	t.Cleanup(fake.Close)
	fake.AddRepo(project, "master")
	if strings.EqualFold(project, "codertocat/hello-galaxy") {
		// The repository of the example, renamed: GitHub keeps its id.
		fake.SetRepoID(project, 186853002)
	}
	yml := fmt.Sprintf(`
agents: {replay: {type: scripted, script: /etc/agent-smith/fix-bug.json}}
repos: {hello: {type: github, url: "%[1]s/%[2]s", auth: gh}}
trackers:
  hello: {type: github, url: "%[1]s/api/v3", project: %[2]s, auth: gh, webhook_secret: hello-secret, trigger_labels: [bug]}
projects:
  hello: {agent: replay, tracker: hello, repos: [hello], trigger: {project_resolution: {strategy: tag, value: bug}}}
skills: {source: path, path: /srv/skills}
secrets: {gh: %[3]s}
`, fake.URL, project, token)
	cfg, err := config.Parse([]byte(yml), "hello.yml", func(string) (string, bool) { return "", false },
		config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := github.New("hello", cfg.Trackers["hello"], cfg, github.WithHTTPClient(fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	// As serve's start does (connect.Warm): the repository's id is
	// learned with the tracker's account.
	if _, err := tr.Self(context.Background()); err != nil {
		t.Fatal(err)
	}
	store, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: "i" + strconv.FormatInt(prefixes.Add(1), 10) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	trs := map[string]trackers.Tracker{"hello": tr}
	e := &env{fake: fake, cfg: cfg, store: store, runs: &countingRuns{Runs: StoreRuns(store)}, trackers: trs, reg: prometheus.NewRegistry()}
	if e.handler, err = New(cfg, trs, e.runs, logr.Discard(), e.reg); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.handler)
	t.Cleanup(e.srv.Close)
	return helloEnv{env: e}
}
