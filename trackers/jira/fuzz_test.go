package jira

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"reflect"
	"testing"

	gojson "github.com/goccy/go-json"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/internal/account"
	"github.com/agent-smith/agent-smith/trackers/jira/jirafake"
)

// FuzzParseWebhook feeds the parser arbitrary bodies: it must never panic,
// must refuse what it cannot read with ErrBadPayload, and what it accepts
// as a handled event must name a real issue key, carry a comment when it
// is a comment, and never both trigger and be ignored.
func FuzzParseWebhook(f *testing.F) {
	fake := jirafake.New()
	defer fake.Close()
	fake.AddProject(testProject, "Shop")
	key := fake.CreateIssue(testProject, jirafake.NewIssue{Summary: "t", Description: "b", Labels: []string{"agent-smith"}})
	cid := fake.AddComment(key, "/agent-smith fix-bug", alice)
	fake.Assign(key, &agentUser)
	for _, d := range []jirafake.Delivery{
		fake.LabelAdded(key, "agent-smith", alice),
		fake.IssueCreated(key, alice),
		fake.Assigned(key, nil, alice),
		fake.Commented(key, cid),
		fake.CommentCreated(key, cid),
	} {
		f.Add(d.Body)
	}
	f.Add([]byte(`{"webhookEvent":"jira:issue_updated","issue":{"key":"SHOP-1","fields":{"labels":null,"description":{"type":"doc","content":[{"type":"mention"}]}}},"changelog":{"items":[{"field":"labels","from":7,"toString":null}]}}`))
	f.Add([]byte(`{"webhookEvent":"comment_created","issue":{"key":"SHOP-1"},"comment":{"id":"1","body":{"type":"doc"},"created":"yesterday"}}`))

	tr := &Tracker{name: "shop", site: "https://acme.atlassian.net", project: testProject, secret: []byte(testSecret),
		triggerLabels: []string{"agent-smith"}, openStates: []string{"To Do"}, agentUsers: []string{"Agent Smith"},
		self: account.New(func(context.Context) (trackers.Identity, error) {
			return trackers.Identity{ID: agentUser.AccountID, Name: agentUser.DisplayName, Dedicated: true}, nil
		})}
	if _, err := tr.Self(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h := http.Header{}
		h.Set("X-Atlassian-Webhook-Identifier", "d-1")
		ev, err := tr.ParseWebhook(h, body)
		if err != nil {
			if !errors.Is(err, trackers.ErrBadPayload) {
				t.Fatalf("error %v does not wrap ErrBadPayload", err)
			}
			return
		}
		if ev.DeliveryID != "d-1" || ev.Name == "" {
			t.Fatalf("event without delivery id or name: %+v", ev)
		}
		switch ev.Kind {
		case trackers.EventTicket, trackers.EventComment:
		default:
			t.Fatalf("unknown kind %q", ev.Kind)
		}
		if ev.Trigger != "" && ev.Ignore != "" {
			t.Fatalf("event both triggers (%s) and is ignored (%s)", ev.Trigger, ev.Ignore)
		}
		switch ev.Name {
		case "jira:issue_created", "jira:issue_updated", "comment_created":
		default:
			if ev.Ignore == "" {
				t.Fatalf("event %q is not handled but was not ignored", ev.Name)
			}
			return
		}
		if ev.Ignore != "" {
			return // an ignored event needs no ticket (comment_created without an issue)
		}
		if _, err := issueRef(ev.Ticket.ID); err != nil {
			t.Fatalf("accepted %s with ticket id %q", ev.Name, ev.Ticket.ID)
		}
		if ev.Kind == trackers.EventComment && ev.Comment == nil {
			t.Fatal("comment event without comment")
		}
		if ev.Trigger != "" && ev.Kind != trackers.EventTicket {
			t.Fatalf("a %s event triggers", ev.Kind)
		}
	})
}

// FuzzPayloadDecodersAgree holds the fast decoder to encoding/json: on any
// input both must accept or both refuse, and accept the same values.
func FuzzPayloadDecodersAgree(f *testing.F) {
	for _, file := range []string{"issue_updated_labels.json", "issue_updated_assignee.json", "issue_commented.json", "comment_created.json"} {
		body, err := os.ReadFile("testdata/" + file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Add([]byte(`{"webhookEvent":"x","issue":{"key":"A-1","fields":{"labels":null,"description":{"type":"doc","content":[{"type":"text","text":"\u00e9\ud800"}]}}},"changelog":{"items":[{"from":1.5e3,"to":"\/x"}]}}`))
	f.Add([]byte(`{"issue":{"key":"A-1"}} trailing`))
	f.Add([]byte(`{"webhookEvent":"a","webhookEvent":"b","comment":{"id":"1","created":7}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast, std payload
		errFast := gojson.Unmarshal(body, &fast)
		errStd := json.Unmarshal(body, &std)
		if (errFast == nil) != (errStd == nil) {
			t.Fatalf("go-json error %v, encoding/json error %v", errFast, errStd)
		}
		if errStd == nil && !reflect.DeepEqual(fast, std) {
			t.Fatalf("decoders disagree:\ngo-json       %+v\nencoding/json %+v", fast, std)
		}
	})
}
