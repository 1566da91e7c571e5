package gitlab

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
)

func TestVerifyWebhookRefusesWhatItCannotVerify(t *testing.T) {
	f := newFixture(t)
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	d := f.fake.IssueHook(shopProject, iid, gitlabfake.IssueChange{Action: "open"})
	cases := []struct {
		name   string
		header func() http.Header
		ok     bool
	}{
		{"the webhook's secret token", func() http.Header { return d.Header(testSecret) }, true},
		{"no token", func() http.Header { return d.Header("") }, false},
		{"token in another case", func() http.Header { return d.Header(strings.ToUpper(testSecret)) }, false},
		{"token with a suffix", func() http.Header { return d.Header(testSecret + "x") }, false},
		{"prefix of the token", func() http.Header { return d.Header(testSecret[:len(testSecret)-1]) }, false},
		{"token sent as a signature instead", func() http.Header {
			h := d.Header("")
			h.Set("X-Hub-Signature-256", "sha256="+testSecret)
			return h
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := f.tracker.VerifyWebhook(tc.header(), d.Body)
			if tc.ok {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(trackers.ErrUnauthorized))
			g.Expect(err.Error()).NotTo(ContainSubstring(testSecret))
		})
	}
}

func TestParseWebhookDecidesWhatIsWork(t *testing.T) {
	f := newFixture(t)
	labeled := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "crash", Labels: []string{"bug", "agent-smith"}})
	plain := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "plain", Labels: []string{"bug"}})
	closed := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "closed", Labels: []string{"agent-smith"}, State: "closed"})
	// Created first: the fake, like GitLab, names a label as it was first created.
	mixedCase := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "c", Labels: []string{"AI-Fix"}})
	secret := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "secret", Labels: []string{"ai-fix"}, Confidential: true})
	mr := f.fake.OpenMergeRequest(shopProject, "feature", "main", "Feature")
	update := func(iid int, before ...string) gitlabfake.Delivery {
		if before == nil {
			before = []string{}
		}
		return f.fake.IssueHook(shopProject, iid, gitlabfake.IssueChange{Action: "update", LabelsBefore: before, By: "alice"})
	}
	// renamed is d as GitLab sends it after the project moved to another
	// path: the id stays.
	renamed := func(d gitlabfake.Delivery) gitlabfake.Delivery {
		body := bytes.ReplaceAll(d.Body, []byte(`"path_with_namespace":"acme/shop"`), []byte(`"path_with_namespace":"acme/storefront"`))
		d.Body = body
		return d
	}
	note := func(iid int, body, author string) gitlabfake.Delivery {
		return f.fake.NoteHook(shopProject, f.fake.AddNote(shopProject, iid, body, author), "create")
	}
	cases := []struct {
		name    string
		d       gitlabfake.Delivery
		kind    trackers.EventKind
		evName  string
		trigger string
		ignore  string
		trusted bool
	}{
		{"trigger label added", update(labeled, "bug"),
			trackers.EventTicket, "Issue Hook.update", "label agent-smith added", "", false},
		{"trigger label added with others at once", update(labeled),
			trackers.EventTicket, "Issue Hook.update", "label agent-smith added", "", false},
		{"trigger label matched case-insensitively", update(mixedCase),
			trackers.EventTicket, "Issue Hook.update", "label AI-Fix added", "", false},
		{"other label added", update(labeled, "agent-smith"),
			trackers.EventTicket, "Issue Hook.update", "", `label "bug" added, not a trigger label`, false},
		{"lifecycle label added by agent-smith", f.fake.IssueHook(shopProject, f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "q", Labels: []string{"agent-smith", "agent-smith:queued"}}),
			gitlabfake.IssueChange{Action: "update", LabelsBefore: []string{"agent-smith"}, By: bot}),
			trackers.EventTicket, "Issue Hook.update", "", `label "agent-smith:queued" added, not a trigger label`, false},
		// Withdrawals: the contract kit and TestWithdrawalCancelsTheRun check them.
		{"trigger label removed", update(plain, "bug", "agent-smith"),
			trackers.EventTicket, "Issue Hook.update", "", "", false},
		{"other label removed", update(labeled, "agent-smith", "bug", "ops"),
			trackers.EventTicket, "Issue Hook.update", "", `label "ops" removed, not a trigger label`, false},
		{"update of the title", f.fake.IssueHook(shopProject, labeled, gitlabfake.IssueChange{Action: "update"}),
			trackers.EventTicket, "Issue Hook.update", "", "update without a label change", false},
		{"trigger label on a closed issue", update(closed),
			trackers.EventTicket, "Issue Hook.update", "", "issue is closed", false},
		{"opened with a trigger label", f.fake.IssueHook(shopProject, labeled, gitlabfake.IssueChange{Action: "open"}),
			trackers.EventTicket, "Issue Hook.open", "issue opened with label agent-smith", "", false},
		{"opened without one", f.fake.IssueHook(shopProject, plain, gitlabfake.IssueChange{Action: "open"}),
			trackers.EventTicket, "Issue Hook.open", "", "issue opened without a trigger label", false},
		{"reopened with a trigger label", f.fake.IssueHook(shopProject, labeled, gitlabfake.IssueChange{Action: "reopen"}),
			trackers.EventTicket, "Issue Hook.reopen", "issue reopened with label agent-smith", "", false},
		{"closed", f.fake.IssueHook(shopProject, labeled, gitlabfake.IssueChange{Action: "close"}),
			trackers.EventTicket, "Issue Hook.close", "", "", false},
		{"confidential issue", update(secret),
			trackers.EventTicket, "Confidential Issue Hook.update", "label AI-Fix added", "", false},
		{"task work item", gitlabfake.Event("Issue Hook", []byte(`{"object_kind":"work_item","project":{"id":1,"path_with_namespace":"acme/shop"},"object_attributes":{"iid":9,"type":"Task","action":"open","state":"opened"}}`)),
			trackers.EventTicket, "Issue Hook.open", "", "work item of type Task is not an issue", false},
		{"note by a developer", note(labeled, "/agent-smith fix-bug", "dev"),
			trackers.EventComment, "Note Hook.create", "", "", true},
		{"note by a maintainer", note(labeled, "/agent-smith", "lead"),
			trackers.EventComment, "Note Hook.create", "", "", true},
		{"note by a reporter", note(labeled, "/agent-smith", "alice"),
			trackers.EventComment, "Note Hook.create", "", "", false},
		{"note by a guest", note(labeled, "/agent-smith", "guest"),
			trackers.EventComment, "Note Hook.create", "", "", false},
		{"note by someone who is no member", note(labeled, "/agent-smith", "stranger"),
			trackers.EventComment, "Note Hook.create", "", "", false},
		{"note by agent-smith itself", note(labeled, "/agent-smith is working on this", bot),
			trackers.EventComment, "Note Hook.create", "", "note by agent-smith's own account " + bot, false},
		{"edited note", f.fake.NoteHook(shopProject, f.fake.AddNote(shopProject, labeled, "/agent-smith", "dev"), "update"),
			trackers.EventComment, "Note Hook.update", "", "note updated; only new notes are read", false},
		{"note on a confidential issue", note(secret, "/agent-smith", "dev"),
			trackers.EventComment, "Confidential Note Hook.create", "", "", true},
		{"note on a merge request", f.fake.NoteHook(shopProject, f.fake.AddMergeRequestNote(shopProject, mr, "/agent-smith fix-bug", "dev"), "create"),
			trackers.EventComment, "Note Hook.create", "", "note on a merge request; merge requests are not tickets", false},
		{"note on a commit", gitlabfake.Event("Note Hook", []byte(`{"object_kind":"note","project":{"id":1,"path_with_namespace":"acme/shop"},"object_attributes":{"id":5,"noteable_type":"Commit","action":"create","note":"/agent-smith"}}`)),
			trackers.EventComment, "Note Hook.create", "", "note on a Commit is not about a ticket", false},
		{"issue of another project of the group", f.fake.IssueHook(apiProject, f.fake.CreateIssue(apiProject, gitlabfake.NewIssue{Title: "o", Labels: []string{"agent-smith"}}), gitlabfake.IssueChange{Action: "open"}),
			trackers.EventTicket, "Issue Hook.open", "", "not this tracker's repository (the delivery is for project acme/platform/shop-api; tracker shop reads acme/shop)", false},
		{"note in another project of the group", f.fake.NoteHook(apiProject, f.fake.AddNote(apiProject, f.fake.CreateIssue(apiProject, gitlabfake.NewIssue{Title: "n"}), "/agent-smith", "dev"), "create"),
			trackers.EventComment, "Note Hook.create", "", "not this tracker's repository (the delivery is for project acme/platform/shop-api; tracker shop reads acme/shop)", false},
		{"project renamed since: matched by its id", renamed(f.fake.IssueHook(shopProject, labeled, gitlabfake.IssueChange{Action: "open"})),
			trackers.EventTicket, "Issue Hook.open", "issue opened with label agent-smith", "", false},
		{"path spelled in another case", gitlabfake.Event("Issue Hook", bytes.Replace(f.fake.IssueHook(shopProject, labeled, gitlabfake.IssueChange{Action: "open"}).Body,
			[]byte(`"path_with_namespace":"acme/shop"`), []byte(`"path_with_namespace":"ACME/Shop"`), 1)),
			trackers.EventTicket, "Issue Hook.open", "issue opened with label agent-smith", "", false},
		{"event agent-smith does not handle", gitlabfake.Event("Push Hook", []byte(`{"object_kind":"push","ref":"refs/heads/main"}`)),
			trackers.EventTicket, "Push Hook", "", "event Push Hook is not handled", false},
		{"event name not spelled as GitLab sends it", gitlabfake.Event("issue hook", update(labeled, "bug").Body),
			trackers.EventTicket, "issue hook.update", "", "event issue hook is not handled", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			h := tc.d.Header(testSecret)
			g.Expect(f.tracker.VerifyWebhook(h, tc.d.Body)).To(Succeed())
			ev, err := f.tracker.ParseWebhook(h, tc.d.Body)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ev.DeliveryID).To(Equal(tc.d.IdempotencyKey))
			g.Expect(ev.Kind).To(Equal(tc.kind))
			g.Expect(ev.Name).To(Equal(tc.evName))
			g.Expect(ev.Trigger).To(Equal(tc.trigger))
			g.Expect(ev.Ignore).To(Equal(tc.ignore))
			if tc.kind == trackers.EventComment && tc.ignore == "" {
				g.Expect(ev.Comment).NotTo(BeNil())
				g.Expect(ev.Comment.Trusted).To(Equal(tc.trusted))
			}
		})
	}
}

func TestParseWebhookReadsTheDocumentedPayloads(t *testing.T) {
	f := newFixture(t)
	// The documentation's note author (id 42) is a developer there.
	self := f.tracker.members.identity()
	f.tracker.judge = func(id int64) (verdict, trackers.Identity) {
		if id == 42 {
			return trusted, self
		}
		return untrusted, self
	}
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Each example is of its own project; a tracker reads that one.
	trackerOf := func(t *testing.T, project string) *Tracker {
		c := trackerConfig(f.fake)
		c.Project = project
		tr, err := New("docs", c, f.cfg, WithHTTPClient(f.fake.Client()))
		if err != nil {
			t.Fatal(err)
		}
		tr.judge = f.tracker.judge
		return tr
	}
	t.Run("Issue Hook", func(t *testing.T) {
		g := NewWithT(t)
		d := gitlabfake.Event("Issue Hook", read("issue_hook.json"))
		ev, err := trackerOf(t, "gitlabhq/gitlab-test").ParseWebhook(d.Header(testSecret), d.Body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ev.Trigger).To(Equal("label agent-smith added"))
		g.Expect(ev.Mark).To(Equal(trackers.Mark{Key: "label:agent-smith", Seq: time.Date(2013, 12, 3, 17, 15, 43, 0, time.UTC).UnixMilli()}))
		g.Expect(ev.Ticket).To(Equal(trackers.Ticket{
			ID: "23", Title: "New API: create/update/delete file", Body: "Create new API for manipulations with repository",
			URL: "http://example.com/diaspora/issues/23", State: "open", Labels: []string{"API", "agent-smith"},
			Repo: "http://example.com/gitlabhq/gitlab-test.git", Assignee: "user1",
		}))
	})
	t.Run("Note Hook", func(t *testing.T) {
		g := NewWithT(t)
		d := gitlabfake.Event("Note Hook", read("note_hook_issue.json"))
		ev, err := trackerOf(t, "gitlab-org/gitlab-test").ParseWebhook(d.Header(testSecret), d.Body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ev.Ignore).To(BeEmpty())
		g.Expect(ev.Ticket).To(Equal(trackers.Ticket{
			ID: "17", Title: "test_issue", Body: "test issue", URL: "http://example.com/gitlab-org/gitlab-test/-/issues/17",
			State: "open", Labels: []string{"Afterpod", "Element"}, Repo: "http://example.com/gitlab-org/gitlab-test.git",
		}))
		g.Expect(ev.Mark).To(Equal(trackers.Mark{Key: "note:1241", Seq: time.Date(2015, 5, 17, 17, 6, 40, 0, time.UTC).UnixMilli()}))
		g.Expect(*ev.Comment).To(Equal(trackers.Comment{ID: "1241", Author: "user1", Body: "/agent-smith fix-bug\nThe save button crashes.",
			Trusted: true, CreatedAt: time.Date(2015, 5, 17, 17, 6, 40, 0, time.UTC)}))
	})
}

func TestDeliveryIDPrefersTheIdempotencyKey(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	d := f.fake.IssueHook(shopProject, iid, gitlabfake.IssueChange{Action: "open"})

	first, err := f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
	g.Expect(err).NotTo(HaveOccurred())
	retried := d.Redelivery()
	g.Expect(retried.EventUUID).NotTo(Equal(d.EventUUID), "a resend gets a new event UUID")
	again, err := f.tracker.ParseWebhook(retried.Header(testSecret), retried.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.DeliveryID).To(Equal(first.DeliveryID), "a resend keeps its Idempotency-Key, and so its id")

	old := d.WithoutIdempotencyKey()
	ev, err := f.tracker.ParseWebhook(old.Header(testSecret), old.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ev.DeliveryID).To(Equal(d.EventUUID), "GitLab before 17.4 sends only X-Gitlab-Event-UUID")
}

func TestParseWebhookRefusesMalformedDeliveries(t *testing.T) {
	f := newFixture(t)
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	good := f.fake.IssueHook(shopProject, iid, gitlabfake.IssueChange{Action: "open"})
	cases := []struct {
		name  string
		event string
		body  string
	}{
		{"no event header", "", string(good.Body)},
		{"truncated JSON", "Issue Hook", string(good.Body[:len(good.Body)/2])},
		{"JSON null", "Issue Hook", "null"},
		{"array", "Issue Hook", "[1,2]"},
		{"issue hook without object_attributes", "Issue Hook", `{"project":{"path_with_namespace":"acme/shop"},"object_kind":"issue"}`},
		{"issue hook without iid", "Issue Hook", `{"project":{"path_with_namespace":"acme/shop"},"object_kind":"issue","object_attributes":{"action":"open"}}`},
		{"iid of the wrong type", "Issue Hook", `{"project":{"path_with_namespace":"acme/shop"},"object_kind":"issue","object_attributes":{"iid":"3","action":"open"}}`},
		{"labels of the wrong shape", "Issue Hook", `{"project":{"path_with_namespace":"acme/shop"},"object_kind":"issue","object_attributes":{"iid":3},"labels":["bug"]}`},
		{"note hook without note id", "Note Hook", `{"project":{"path_with_namespace":"acme/shop"},"object_kind":"note","object_attributes":{"noteable_type":"Issue"}}`},
		{"issue note without its issue", "Note Hook", `{"project":{"path_with_namespace":"acme/shop"},"object_kind":"note","object_attributes":{"id":4,"noteable_type":"Issue","action":"create"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			h := good.Header(testSecret)
			if tc.event == "" {
				h.Del("X-Gitlab-Event")
			} else {
				h.Set("X-Gitlab-Event", tc.event)
			}
			_, err := f.tracker.ParseWebhook(h, []byte(tc.body))
			g.Expect(err).To(MatchError(trackers.ErrBadPayload))
			g.Expect(err.Error()).NotTo(ContainSubstring(testSecret))
		})
	}
}
