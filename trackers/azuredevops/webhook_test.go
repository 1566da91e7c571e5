package azuredevops

import (
	"context"
	"encoding/base64"
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
	"github.com/agent-smith/agent-smith/trackers/azuredevops/adofake"
	"github.com/agent-smith/agent-smith/trackers/internal/account"
)

// documentedTracker reads the payloads in testdata, which are shaped as
// Azure DevOps' service hook documentation and real deliveries show them
// for an organization acme-org. It makes no request.
func documentedTracker(t testing.TB) *Tracker {
	t.Helper()
	tc := &config.Tracker{Type: Type, URL: "https://dev.azure.com/acme-org", Settings: &Settings{Organization: testOrg},
		Project: testProject, Auth: "azure_devops_token", WebhookSecret: testSecret,
		TriggerLabels: []string{"agent-smith", "ai-fix"}, OpenStates: []string{"New", "Active"}}
	tr, err := New("acme-platform", tc, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	// Learned without asking dev.azure.com: the token is the Agent's.
	tr.self = account.New(func(context.Context) (trackers.Identity, error) {
		return trackers.Identity{ID: adofake.Agent.ID, Name: adofake.Agent.UniqueName}, nil
	})
	if _, err := tr.Self(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tr
}

func payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edited is body with fn applied to its decoded resource.
func edited(t testing.TB, body []byte, fn func(doc, resource map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	res, _ := doc["resource"].(map[string]any)
	fn(doc, res)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDocumentedPayloadsParse(t *testing.T) {
	tr := documentedTracker(t)
	commented := payload(t, "workitem.commented.json")
	comment := &trackers.Comment{ID: "9120344", Author: "Dana Dev", Trusted: true,
		Body:      "/agent-smith fix-bug\nThe parser drops the offset & uses UTC.",
		CreatedAt: time.Date(2026, 3, 2, 10, 20, 3, 117_000_000, time.UTC)}
	commentMark := trackers.Mark{Key: "comment:9120344", Seq: commentRev(t, commented)}
	cases := []struct {
		name string
		body []byte
		want trackers.Event
	}{
		{"tag added", payload(t, "workitem.updated.json"), trackers.Event{
			DeliveryID: "3c8e5a1f-27d4-4f0b-8a6e-91d2c4b7f036", Kind: trackers.EventTicket, Name: "workitem.updated",
			Trigger: "tag agent-smith added", Mark: trackers.Mark{Key: "rev:7", Seq: 7},
			Ticket: trackers.Ticket{ID: "4711", Title: "Due dates shift by one day",
				Body: "Saving a todo with a due date in CET stores the day before.\n\nSteps:\nSet the time zone to Europe/Berlin\nCreate a todo due 2026-03-05",
				URL:  "https://dev.azure.com/acme-org/Platform/_workitems/edit/4711", State: "Active",
				Labels: []string{"bug", "agent-smith"}, AreaPath: `Platform\TodoList\Api`, Assignee: "Dana Dev"},
		}},
		{"created with a trigger tag", payload(t, "workitem.created.json"), trackers.Event{
			DeliveryID: "d41f7a2c-9b8e-4c1d-a3f5-6e7b8c9d0a12", Kind: trackers.EventTicket, Name: "workitem.created",
			Trigger: "work item created with tag agent-smith", Mark: trackers.Mark{Key: "rev:1", Seq: 1},
			Ticket: trackers.Ticket{ID: "4712", Title: "Reminder emails go out twice",
				URL: "https://dev.azure.com/acme-org/Platform/_workitems/edit/4712", State: "New",
				Labels: []string{"agent-smith", "worker"}, AreaPath: `Platform\TodoList\Worker`},
		}},
		{"comment", commented, trackers.Event{
			DeliveryID: "8e1b4d7a-0c3f-4e6a-9b2d-5f8c1e4a7d90", Kind: trackers.EventComment, Name: "workitem.commented",
			Ticket: trackers.Ticket{ID: "4711", Title: "Due dates shift by one day",
				Body: "Saving a todo with a due date in CET stores the day before.",
				URL:  "https://dev.azure.com/acme-org/Platform/_workitems/edit/4711", State: "Active",
				Labels: []string{"bug", "agent-smith"}, AreaPath: `Platform\TodoList\Api`, Assignee: "Dana Dev"},
			Comment: comment, Mark: commentMark,
		}},
		{"comment from a server that sends it only in the detailed message", edited(t, commented, func(_, r map[string]any) {
			delete(r["fields"].(map[string]any), "System.History")
		}), trackers.Event{
			DeliveryID: "8e1b4d7a-0c3f-4e6a-9b2d-5f8c1e4a7d90", Kind: trackers.EventComment, Name: "workitem.commented",
			Ticket: trackers.Ticket{ID: "4711", Title: "Due dates shift by one day",
				Body: "Saving a todo with a due date in CET stores the day before.",
				URL:  "https://dev.azure.com/acme-org/Platform/_workitems/edit/4711", State: "Active",
				Labels: []string{"bug", "agent-smith"}, AreaPath: `Platform\TodoList\Api`, Assignee: "Dana Dev"},
			Comment: comment, Mark: commentMark,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ev, err := tr.ParseWebhook(http.Header{}, tc.body)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ev).To(Equal(tc.want))
		})
	}
}

// commentRev is the work item revision a workitem.commented body
// reports.
func commentRev(t *testing.T, body []byte) int64 {
	var doc struct {
		Resource struct {
			Rev int64 `json:"rev"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Resource.Rev == 0 {
		t.Fatalf("no resource.rev in the commented payload: %v", err)
	}
	return doc.Resource.Rev
}

func TestVerifyWebhookTakesTheSecretAsBasicAuthPasswordOrHeader(t *testing.T) {
	tr := documentedTracker(t)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	cases := []struct {
		name    string
		headers map[string]string
		ok      bool
	}{
		{"password with a user name", map[string]string{"Authorization": basic("azure-devops", testSecret)}, true},
		{"password without a user name", map[string]string{"Authorization": basic("", testSecret)}, true},
		{"secret header", map[string]string{SecretHeader: testSecret}, true},
		{"wrong password but right header", map[string]string{"Authorization": basic("x", "wrong"), SecretHeader: testSecret}, true},
		{"wrong password", map[string]string{"Authorization": basic("azure-devops", "wrong")}, false},
		{"secret as user name", map[string]string{"Authorization": basic(testSecret, "")}, false},
		{"wrong header", map[string]string{SecretHeader: "wrong"}, false},
		{"secret as bearer token", map[string]string{"Authorization": "Bearer " + testSecret}, false},
		{"basic auth that is not base64", map[string]string{"Authorization": "Basic " + testSecret}, false},
		{"nothing", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			h := http.Header{}
			for k, v := range tc.headers {
				h.Set(k, v)
			}
			err := tr.VerifyWebhook(h, payload(t, "workitem.updated.json"))
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
	tr := f.tracker
	const trigger = "agent-smith"
	comment := func(id int, text string, by adofake.Identity) adofake.Delivery {
		return f.fake.CommentedEvent(id, f.fake.AddComment(id, text, by))
	}
	cases := []struct {
		name     string
		delivery func() adofake.Delivery
		kind     trackers.EventKind
		evName   string
		trigger  string
		ignore   string
	}{
		{"trigger tag added", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "New", "bug"), alice, adofake.AddTags(trigger))
		}, trackers.EventTicket, "workitem.updated", "tag agent-smith added", ""},
		{"trigger tag matched without regard to case", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "Active"), alice, adofake.AddTags("AI-Fix"))
		}, trackers.EventTicket, "workitem.updated", "tag AI-Fix added", ""},
		{"other tag added", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "New", trigger), alice, adofake.AddTags("bug"))
		}, trackers.EventTicket, "workitem.updated", "", `tag "bug" is not a trigger tag`},
		{"lifecycle tag added by agent-smith", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "New", trigger), adofake.Agent, adofake.AddTags("agent-smith:queued"))
		}, trackers.EventTicket, "workitem.updated", "", `tag "agent-smith:queued" is not a trigger tag`},
		{"trigger tag on a closed work item", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "Closed"), alice, adofake.AddTags(trigger))
		}, trackers.EventTicket, "workitem.updated", "", "tag agent-smith added to a work item that is Closed"},
		{"reopened with a trigger tag", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "Closed", trigger, "agent-smith:done"), alice, adofake.SetState("Active"))
		}, trackers.EventTicket, "workitem.updated", "state moved from Closed to Active (reopened) with tag agent-smith", ""},
		{"moved into an open state, never taken", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "New", trigger), alice, adofake.SetState("Active"))
		}, trackers.EventTicket, "workitem.updated", "state moved from New to Active with tag agent-smith", ""},
		{"moved between open states after agent-smith took it", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "New", trigger, "agent-smith:failed"), alice, adofake.SetState("Active"))
		}, trackers.EventTicket, "workitem.updated", "", "state moved from New to Active; agent-smith took this work item before (it has a lifecycle tag)"},
		{"reopened without a trigger tag", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "Closed", "bug"), alice, adofake.SetState("Active"))
		}, trackers.EventTicket, "workitem.updated", "", "state moved from Closed to Active without a trigger tag"},
		{"resolved", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "Active", trigger), alice, adofake.SetState("Resolved"))
		}, trackers.EventTicket, "workitem.updated", "", "no trigger tag added and no move into an open state"},
		{"title edited", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "Active", trigger), alice, adofake.SetTitle("b"))
		}, trackers.EventTicket, "workitem.updated", "", "no trigger tag added and no move into an open state"},
		{"moved into another area", func() adofake.Delivery {
			return f.fake.Update(f.workItem("a", "Active", trigger), alice, adofake.SetAreaPath(`Platform\TodoList\Web`))
		}, trackers.EventTicket, "workitem.updated", "", "no trigger tag added and no move into an open state"},
		{"created with a trigger tag", func() adofake.Delivery {
			return f.fake.CreatedEvent(f.workItem("a", "New", "ui", trigger))
		}, trackers.EventTicket, "workitem.created", "work item created with tag agent-smith", ""},
		{"created without one", func() adofake.Delivery {
			return f.fake.CreatedEvent(f.workItem("a", "New", "ui"))
		}, trackers.EventTicket, "workitem.created", "", "work item created without a trigger tag"},
		{"created closed", func() adofake.Delivery {
			return f.fake.CreatedEvent(f.workItem("a", "Closed", trigger))
		}, trackers.EventTicket, "workitem.created", "", "work item is Closed"},
		{"comment by a project member", func() adofake.Delivery {
			return comment(f.workItem("a", "Active"), "<div>/agent-smith fix-bug</div>", bob)
		}, trackers.EventComment, "workitem.commented", "", ""},
		{"comment by agent-smith itself", func() adofake.Delivery {
			id := f.workItem("a", "Active", trigger)
			cid, err := tr.Comment(context.Background(), strconv.Itoa(id), "Questions:\n/agent-smith needs to know the time zone")
			if err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.Atoi(cid)
			return f.fake.CommentedEvent(id, n)
		}, trackers.EventComment, "workitem.commented", "", "comment by agent-smith itself"},
		{"work item of another project", func() adofake.Delivery {
			id := f.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Billing", Title: "x", State: "New"})
			return f.fake.Update(id, alice, adofake.AddTags(trigger))
		}, trackers.EventTicket, "workitem.updated", "", "work item of project Billing; this tracker reads Platform"},
		{"event agent-smith does not handle", func() adofake.Delivery {
			return f.fake.Event("git.push", testProject, map[string]any{"pushId": 14, "refUpdates": []any{}})
		}, trackers.EventTicket, "git.push", "", "event git.push is not handled"},
		{"deleted work item", func() adofake.Delivery {
			return f.fake.Event("workitem.deleted", testProject, map[string]any{"id": 5, "fields": map[string]any{}})
		}, trackers.EventTicket, "workitem.deleted", "", "event workitem.deleted is not handled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			d := tc.delivery()
			h := d.Header(testSecret)
			g.Expect(tr.VerifyWebhook(h, d.Body)).To(Succeed())
			ev, err := tr.ParseWebhook(h, d.Body)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ev.DeliveryID).To(Equal(d.ID))
			g.Expect(ev.Kind).To(Equal(tc.kind))
			g.Expect(ev.Name).To(Equal(tc.evName))
			g.Expect(ev.Trigger).To(Equal(tc.trigger))
			g.Expect(ev.Ignore).To(Equal(tc.ignore))
			if tc.kind == trackers.EventComment {
				g.Expect(ev.Comment).NotTo(BeNil())
				g.Expect(ev.Comment.Trusted).To(BeTrue(), "only project members comment")
				g.Expect(ev.Comment.Own).To(Equal(tc.ignore != ""), "agent-smith's own comments are Own")
			}
		})
	}
}

func TestOwnCommentReadsBackWithoutItsMark(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := f.workItem("a", "Active", "agent-smith")
	body := "Pull requests:\n```\nTodoList.Api#7\n```"
	cid, err := f.tracker.Comment(context.Background(), strconv.Itoa(id), body)
	g.Expect(err).NotTo(HaveOccurred())
	w, _ := f.fake.WorkItem(id)
	g.Expect(w.Comments).To(HaveLen(1))
	g.Expect(w.Comments[0].Format).To(Equal("markdown"))
	g.Expect(w.Comments[0].Text).To(Equal(body+"\n"+ownMark), "the mark goes on its own line after a code fence")

	n, _ := strconv.Atoi(cid)
	ev, err := f.tracker.ParseWebhook(nil, f.fake.CommentedEvent(id, n).Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ev.Comment.Body).To(Equal(body), "the delivery's HTML reads back as the text")
	g.Expect(ev.Ignore).To(Equal("comment by agent-smith itself"))

	tk, err := f.tracker.Ticket(context.Background(), strconv.Itoa(id))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tk.Comments).To(ConsistOf(HaveField("Body", body)))
	g.Expect(tk.Comments[0].Own).To(BeTrue())
}

func TestParseWebhookRefusesMalformedDeliveries(t *testing.T) {
	tr := documentedTracker(t)
	updated := payload(t, "workitem.updated.json")
	cases := []struct {
		name string
		body []byte
	}{
		{"truncated JSON", updated[:len(updated)/2]},
		{"JSON null", []byte("null")},
		{"array", []byte(`[1,2]`)},
		{"no eventType", edited(t, updated, func(doc, _ map[string]any) { delete(doc, "eventType") })},
		{"work item event without resource", edited(t, updated, func(doc, _ map[string]any) { delete(doc, "resource") })},
		{"resource that is not an object", edited(t, updated, func(doc, _ map[string]any) { doc["resource"] = "4711" })},
		{"update without revision", edited(t, updated, func(_, r map[string]any) { delete(r, "revision") })},
		{"update without work item id", edited(t, updated, func(_, r map[string]any) {
			delete(r, "workItemId")
			delete(r["revision"].(map[string]any), "id")
		})},
		{"work item id of the wrong type", edited(t, updated, func(_, r map[string]any) { r["workItemId"] = "4711" })},
		{"fields that are not an object", edited(t, updated, func(_, r map[string]any) { r["fields"] = []any{1} })},
		{"minimal resource details", edited(t, payload(t, "workitem.created.json"), func(doc, r map[string]any) {
			doc["resource"] = map[string]any{"id": r["id"], "url": r["url"]}
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := tr.ParseWebhook(http.Header{}, tc.body)
			g.Expect(err).To(MatchError(trackers.ErrBadPayload))
			g.Expect(strings.Contains(err.Error(), testSecret)).To(BeFalse())
		})
	}
}
