package jira

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/jira/jirafake"
)

func TestVerifyWebhookRefusesWhatItCannotVerify(t *testing.T) {
	f := newFixture(t)
	d := f.fake.LabelAdded(f.issue("agent-smith"), "agent-smith", alice)
	signed := func(mutate func(h http.Header)) func() http.Header {
		return func() http.Header {
			h := d.Header(testSecret)
			mutate(h)
			return h
		}
	}
	cases := []struct {
		name   string
		header func() http.Header
		body   []byte
		ok     bool
	}{
		{"signed with the secret", signed(func(http.Header) {}), d.Body, true},
		{"method in upper case", signed(func(h http.Header) {
			h.Set("X-Hub-Signature", "SHA256="+strings.TrimPrefix(h.Get("X-Hub-Signature"), "sha256="))
		}), d.Body, true},
		{"unsigned", signed(func(h http.Header) { h.Del("X-Hub-Signature") }), d.Body, false},
		{"body changed after signing", signed(func(http.Header) {}), append([]byte(" "), d.Body...), false},
		{"sha1 method", signed(func(h http.Header) {
			h.Set("X-Hub-Signature", "sha1="+strings.TrimPrefix(h.Get("X-Hub-Signature"), "sha256="))
		}), d.Body, false},
		{"digest not hex", signed(func(h http.Header) { h.Set("X-Hub-Signature", "sha256=zz") }), d.Body, false},
		{"digest without method", signed(func(h http.Header) {
			h.Set("X-Hub-Signature", strings.TrimPrefix(h.Get("X-Hub-Signature"), "sha256="))
		}), d.Body, false},
		{"signed with another secret", func() http.Header { return d.Header("guessed") }, d.Body, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := f.tracker.VerifyWebhook(tc.header(), tc.body)
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
	f.learnSelf(t)
	fake := f.fake
	fake.AddProject("OPS", "Operations")
	labeled := f.issue("bug", "agent-smith")
	plain := f.issue("bug")
	done := fake.CreateIssue(testProject, jirafake.NewIssue{Summary: "old", Labels: []string{"agent-smith"}, Status: "Done"})
	other := fake.CreateIssue("OPS", jirafake.NewIssue{Summary: "elsewhere", Labels: []string{"agent-smith"}})
	assigned := f.issue("bug")
	fake.Assign(assigned, &agentUser)
	toBob := f.issue("bug")
	fake.Assign(toBob, &bob)
	summary := func(key string) jirafake.Delivery {
		from, to := "old title", "Checkout fails"
		return fake.IssueUpdated(key, alice, jirafake.ChangeItem{Field: "summary", FieldType: "jira", FieldID: "summary", FromString: &from, ToString: &to})
	}
	removed := func() jirafake.Delivery {
		from, to := "agent-smith bug", "bug"
		return fake.IssueUpdated(plain, alice, jirafake.ChangeItem{Field: "labels", FieldType: "jira", FieldID: "labels", FromString: &from, ToString: &to})
	}
	comment := func(key, body string, by jirafake.User) string { return fake.AddComment(key, body, by) }
	edited := func() jirafake.Delivery {
		d := fake.Commented(labeled, comment(labeled, "/agent-smith", alice))
		return d.WithBody([]byte(strings.Replace(string(d.Body), `"issue_commented"`, `"issue_comment_edited"`, 1)))
	}
	cases := []struct {
		name    string
		d       jirafake.Delivery
		kind    trackers.EventKind
		evName  string
		trigger string
		ignore  string
	}{
		{"trigger label added", fake.LabelAdded(labeled, "agent-smith", alice),
			trackers.EventTicket, "jira:issue_updated", "label agent-smith added", ""},
		{"trigger label matched case-insensitively", func() jirafake.Delivery {
			fake.AddLabels(plain, "AI-Fix")
			return fake.LabelAdded(plain, "AI-Fix", alice)
		}(), trackers.EventTicket, "jira:issue_updated", "label AI-Fix added", ""},
		{"other label added", fake.LabelAdded(labeled, "bug", alice),
			trackers.EventTicket, "jira:issue_updated", "", "change of labels is not work"},
		{"lifecycle label added by agent-smith", func() jirafake.Delivery {
			fake.AddLabels(labeled, "agent-smith:queued")
			return fake.LabelAdded(labeled, "agent-smith:queued", agentUser)
		}(), trackers.EventTicket, "jira:issue_updated", "", "change of labels is not work"},
		// A withdrawal: the contract kit checks it.
		{"trigger label removed", removed(), trackers.EventTicket, "jira:issue_updated", "", ""},
		{"trigger label on a done issue", fake.LabelAdded(done, "agent-smith", alice),
			trackers.EventTicket, "jira:issue_updated", "", "issue is Done"},
		{"assigned to the agent user", fake.Assigned(assigned, &bob, alice),
			trackers.EventTicket, "jira:issue_updated", "assigned to Agent Smith", ""},
		{"assigned to someone else", fake.Assigned(toBob, nil, alice),
			trackers.EventTicket, "jira:issue_updated", "", "change of assignee is not work"},
		{"summary edited", summary(labeled), trackers.EventTicket, "jira:issue_updated", "", "change of summary is not work"},
		{"update without changelog", fake.IssueUpdated(labeled, alice),
			trackers.EventTicket, "jira:issue_updated", "", "update without a changelog is not work"},
		{"created with a trigger label", fake.IssueCreated(labeled, alice),
			trackers.EventTicket, "jira:issue_created", "issue created with label agent-smith", ""},
		{"created assigned to the agent user", fake.IssueCreated(assigned, alice),
			trackers.EventTicket, "jira:issue_created", "issue created assigned to Agent Smith", ""},
		{"created without either", fake.IssueCreated(toBob, alice),
			trackers.EventTicket, "jira:issue_created", "", "issue created without a trigger label"},
		{"created done", fake.IssueCreated(done, alice), trackers.EventTicket, "jira:issue_created", "", "issue is Done"},
		{"issue of another project", fake.LabelAdded(other, "agent-smith", alice),
			trackers.EventTicket, "jira:issue_updated", "", "issue OPS-1 is in project OPS, not SHOP"},
		{"new comment", fake.Commented(labeled, comment(labeled, "/agent-smith fix-bug", alice)),
			trackers.EventComment, "jira:issue_updated", "", ""},
		{"edited comment", edited(), trackers.EventComment, "jira:issue_updated", "", "comment edited; only new comments are read"},
		{"comment by the agent user", fake.Commented(labeled, comment(labeled, "Agent Smith is working on this", agentUser)),
			trackers.EventComment, "jira:issue_updated", "", "comment by agent-smith itself (Agent Smith)"},
		{"comment_created, read from its issue_updated twin", fake.CommentCreated(labeled, comment(labeled, "/agent-smith", alice)),
			trackers.EventComment, "comment_created", "", "comment_created is not read: the same comment arrives as jira:issue_updated (issue_commented), whose issue carries the labels projects are resolved by; keep the webhook's Issue updated event on"},
		{"issue deleted", jirafake.Event("jira:issue_deleted", []byte(`{"webhookEvent":"jira:issue_deleted","issue":{"key":"SHOP-1"}}`)),
			trackers.EventTicket, "jira:issue_deleted", "", "event jira:issue_deleted is not handled"},
		{"worklog", jirafake.Event("worklog_created", []byte(`{"timestamp":1,"webhookEvent":"worklog_created","worklog":{"id":"1"}}`)),
			trackers.EventTicket, "worklog_created", "", "event worklog_created is not handled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			h := tc.d.Header(testSecret)
			g.Expect(f.tracker.VerifyWebhook(h, tc.d.Body)).To(Succeed())
			ev, err := f.tracker.ParseWebhook(h, tc.d.Body)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ev.DeliveryID).To(Equal(tc.d.ID))
			g.Expect(ev.Kind).To(Equal(tc.kind))
			g.Expect(ev.Name).To(Equal(tc.evName))
			g.Expect(ev.Trigger).To(Equal(tc.trigger))
			g.Expect(ev.Ignore).To(Equal(tc.ignore))
		})
	}
}

func TestProjectAssigneeNamesTriggerToo(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	reviewer := jirafake.User{AccountID: "557058:ai-reviewer", DisplayName: "AI Reviewer"}
	cfg := testConfig()
	cfg.Projects = map[string]*config.Project{
		"shop": {Tracker: "shop", TriggerBlock: &config.Trigger{Settings: &TriggerSettings{AssigneeName: "AI Reviewer"}}},
		"ops":  {Tracker: "ops", TriggerBlock: &config.Trigger{Settings: &TriggerSettings{AssigneeName: "Not This Tracker's"}}},
	}
	tr := f.build(t, trackerConfig(f.fake), cfg)
	key := f.issue("bug")
	f.fake.Assign(key, &reviewer)
	d := f.fake.Assigned(key, nil, alice)
	ev, err := tr.ParseWebhook(d.Header(testSecret), d.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ev.Trigger).To(Equal("assigned to AI Reviewer"))
	g.Expect(tr.agentUsers).To(ConsistOf("Agent Smith", "AI Reviewer"))
}

func TestParsedTicketAndCommentCarryWhatTheRunNeeds(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	f.learnSelf(t)
	key := f.fake.CreateIssue(testProject, jirafake.NewIssue{Summary: "Crash on save", Description: "Steps:\n1. save\n\nIt crashes.",
		Labels: []string{"bug", "agent-smith"}, Assignee: &bob, Status: "In Progress"})
	cid := f.fake.AddComment(key, "/agent-smith fix-bug\nplease", alice)
	d := f.fake.Commented(key, cid)
	ev, err := f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ev.Ticket).To(Equal(trackers.Ticket{
		ID: key, Title: "Crash on save", Body: "Steps:\n1. save\n\nIt crashes.", URL: f.fake.BrowseURL(key),
		State: "In Progress", Labels: []string{"bug", "agent-smith"}, Assignee: "Bob Builder",
	}))
	g.Expect(ev.Comment).NotTo(BeNil())
	g.Expect(ev.Comment.ID).To(Equal(cid))
	g.Expect(ev.Comment.Author).To(Equal("Alice Developer"))
	g.Expect(ev.Comment.Body).To(Equal("/agent-smith fix-bug\nplease"))
	g.Expect(ev.Comment.Trusted).To(BeTrue())
	g.Expect(ev.Comment.CreatedAt.IsZero()).To(BeFalse())
}

func TestCommentTrust(t *testing.T) {
	inactive := false
	cases := []struct {
		name   string
		author *userJSON
		want   bool
	}{
		{"site account", &userJSON{AccountID: "557058:a", DisplayName: "A", AccountType: "atlassian"}, true},
		{"account without an account type", &userJSON{AccountID: "557058:c", DisplayName: "C"}, true},
		{"portal customer", &userJSON{AccountID: "qm:1", AccountType: "customer"}, false},
		{"app", &userJSON{AccountID: "557058:app", AccountType: "app"}, false},
		{"deactivated account", &userJSON{AccountID: "557058:b", AccountType: "atlassian", Active: &inactive}, false},
		{"anonymous", nil, false},
		{"author without an account", &userJSON{DisplayName: "Someone"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(trusted(tc.author)).To(Equal(tc.want))
		})
	}
}

// TestParseWebhookReadsJiraCloudPayloads feeds payloads in the shape Jira
// Cloud documents and sends (trimmed of avatar URLs), with the fields the
// parser does not read left in.
func TestParseWebhookReadsJiraCloudPayloads(t *testing.T) {
	f := newFixture(t)
	f.learnSelf(t)
	cases := []struct {
		file    string
		kind    trackers.EventKind
		ticket  string
		trigger string
		ignore  string
		comment string
		mark    trackers.Mark
	}{
		{"issue_updated_labels.json", trackers.EventTicket, "SHOP-42", "label agent-smith added", "", "", trackers.Mark{Key: "changelog:10523", Seq: 1772442904187}},
		{"issue_updated_assignee.json", trackers.EventTicket, "SHOP-42", "assigned to Agent Smith", "", "", trackers.Mark{Key: "changelog:10524", Seq: 1772442904187}},
		{"issue_commented.json", trackers.EventComment, "SHOP-42", "", "", "/agent-smith fix-bug\nThe log is attached.", trackers.Mark{Key: "comment:10611", Seq: 1772442904187}},
		{"comment_created.json", trackers.EventComment, "SHOP-42", "", "comment_created is not read", "/agent-smith fix-bug", trackers.Mark{Key: "comment:10611", Seq: 1772442904187}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			g := NewWithT(t)
			body, err := os.ReadFile("testdata/" + tc.file)
			g.Expect(err).NotTo(HaveOccurred())
			h := jirafake.Event("", body).Header(testSecret)
			g.Expect(f.tracker.VerifyWebhook(h, body)).To(Succeed())
			ev, err := f.tracker.ParseWebhook(h, body)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ev.Kind).To(Equal(tc.kind))
			g.Expect(ev.Ticket.ID).To(Equal(tc.ticket))
			g.Expect(ev.Trigger).To(Equal(tc.trigger))
			g.Expect(ev.Mark).To(Equal(tc.mark))
			if tc.ignore == "" {
				g.Expect(ev.Ignore).To(BeEmpty())
			} else {
				g.Expect(ev.Ignore).To(HavePrefix(tc.ignore))
			}
			if tc.comment != "" {
				g.Expect(ev.Comment).NotTo(BeNil())
				g.Expect(ev.Comment.Body).To(Equal(tc.comment))
				g.Expect(ev.Comment.CreatedAt).To(BeTemporally("==", time.Date(2026, 3, 2, 9, 15, 4, 187_000_000, time.UTC)))
			}
		})
	}
}

// TestCommentCreatedWithoutAnIssueIsIgnored: Jira sends comment_created
// for comments on other objects too, without an issue; such a delivery is
// understood and acknowledged (200), not refused as unreadable.
func TestCommentCreatedWithoutAnIssueIsIgnored(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	body, err := os.ReadFile("testdata/comment_created.json")
	g.Expect(err).NotTo(HaveOccurred())
	var doc map[string]any
	g.Expect(json.Unmarshal(body, &doc)).To(Succeed())
	g.Expect(doc).To(HaveKey("issue"))
	delete(doc, "issue")
	body, err = json.Marshal(doc)
	g.Expect(err).NotTo(HaveOccurred())
	ev, err := f.tracker.ParseWebhook(jirafake.Event("", body).Header(testSecret), body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ev.Kind).To(Equal(trackers.EventComment))
	g.Expect(ev.Ignore).To(Equal("comment_created without an issue: comments are read from jira:issue_updated"))
}

func TestParseWebhookRefusesMalformedDeliveries(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"truncated JSON", `{"webhookEvent":"jira:issue_updated","issue":{"key":"SHOP-1"`},
		{"JSON null", "null"},
		{"array", "[1,2]"},
		{"no webhookEvent", `{"issue":{"key":"SHOP-1"}}`},
		{"issue event without issue", `{"webhookEvent":"jira:issue_updated"}`},
		{"issue key that is not one", `{"webhookEvent":"jira:issue_created","issue":{"key":"../../admin"}}`},
		{"comment event without comment", `{"webhookEvent":"comment_created","issue":{"key":"SHOP-1"}}`},
		{"description of the wrong type", `{"webhookEvent":"jira:issue_created","issue":{"key":"SHOP-1","fields":{"description":7}}}`},
		{"labels of the wrong type", `{"webhookEvent":"jira:issue_created","issue":{"key":"SHOP-1","fields":{"labels":"bug"}}}`},
		{"changelog value of the wrong type", `{"webhookEvent":"jira:issue_updated","issue":{"key":"SHOP-1"},"changelog":{"items":[{"field":"labels","toString":["x"]}]}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			h := jirafake.Event("x", []byte(tc.body)).Header(testSecret)
			_, err := f.tracker.ParseWebhook(h, []byte(tc.body))
			g.Expect(err).To(MatchError(trackers.ErrBadPayload))
		})
	}
}

func TestQuotedCommandsAreMarkedAsQuotes(t *testing.T) {
	cases := []struct {
		name string
		body string
		want string
	}{
		{"wiki quote block", "{quote}\n/agent-smith fix-bug\n{quote}\nno thanks", "\n> /agent-smith fix-bug\n\nno thanks"},
		{"wiki quote on one line", "as {quote}/agent-smith fix-bug{quote} said", "as > /agent-smith fix-bug said"},
		{"bq line", "bq. /agent-smith fix-bug\nagreed", "> /agent-smith fix-bug\nagreed"},
		{"ADF blockquote", `{"type":"doc","version":1,"content":[{"type":"blockquote","content":[{"type":"paragraph","content":[{"type":"text","text":"/agent-smith fix-bug"}]}]}]}`,
			"> /agent-smith fix-bug"},
		{"plain command", "/agent-smith fix-bug", "/agent-smith fix-bug"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			raw := tc.body
			if !strings.HasPrefix(raw, "{\"") {
				raw = strconv.Quote(raw)
			}
			var r richText
			g.Expect(r.UnmarshalJSON([]byte(raw))).To(Succeed())
			g.Expect(string(r)).To(Equal(tc.want))
		})
	}
}
