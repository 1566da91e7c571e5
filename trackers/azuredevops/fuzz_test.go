package azuredevops

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/azuredevops/adofake"
	"github.com/agent-smith/agent-smith/trackers/internal/account"
)

// FuzzParseWebhook feeds the parser arbitrary bodies: it must never panic,
// must refuse what it cannot read with ErrBadPayload, and what it accepts
// as a work item event must name a real work item.
func FuzzParseWebhook(f *testing.F) {
	for _, name := range []string{"workitem.updated.json", "workitem.created.json", "workitem.commented.json"} {
		f.Add(payload(f, name))
	}
	fake := adofake.New(adofake.WithOrganization(testOrg))
	defer fake.Close()
	id := fake.CreateWorkItem(adofake.NewWorkItem{Project: testProject, Title: "t", State: "New", Tags: []string{"bug"}})
	f.Add(fake.Update(id, alice, adofake.AddTags("agent-smith")).Body)
	f.Add(fake.Update(id, alice, adofake.SetState("Closed")).Body)
	f.Add(fake.CommentedEvent(id, fake.AddComment(id, "<div>/agent-smith</div>", bob)).Body)
	f.Add([]byte(`{"eventType":"workitem.updated","resource":{"workItemId":1,"fields":{"System.Tags":{"newValue":7}},"revision":{"fields":{"System.Tags":null}}}}`))
	f.Add([]byte(`{"eventType":"workitem.commented","resource":{"id":3,"fields":{"System.TeamProject":"Billing"}}}`))
	f.Add([]byte(`{"eventType":"workitem.commented","resource":{"id":2,"fields":{"System.History":"<div>a<br"},"commentVersionRef":{"commentId":-1}}}`))

	tr := &Tracker{name: "platform", api: &api{base: "https://dev.azure.com/acme-org"}, project: testProject,
		secret: []byte(testSecret), triggerTags: []string{"agent-smith"}, openStates: []string{"New", "Active"},
		self: account.New(func(context.Context) (trackers.Identity, error) {
			return trackers.Identity{ID: adofake.Agent.ID, Name: adofake.Agent.UniqueName}, nil
		})}
	if _, err := tr.Self(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := tr.ParseWebhook(http.Header{}, body)
		if err != nil {
			if !errors.Is(err, trackers.ErrBadPayload) {
				t.Fatalf("error %v does not wrap ErrBadPayload", err)
			}
			return
		}
		var env struct {
			EventType string `json:"eventType"`
		}
		_ = json.Unmarshal(body, &env)
		switch env.EventType {
		case eventCreated, eventUpdated, eventCommented:
		default:
			if ev.Ignore == "" {
				t.Fatalf("event %q is not handled but was not ignored", env.EventType)
			}
			return
		}
		if n, err := strconv.Atoi(ev.Ticket.ID); err != nil || n <= 0 {
			t.Fatalf("accepted %s with work item id %q", env.EventType, ev.Ticket.ID)
		}
		if (ev.Kind == trackers.EventComment) != (env.EventType == eventCommented) || (ev.Kind == trackers.EventComment && ev.Ignore == "" && ev.Comment == nil) {
			t.Fatalf("%s parsed as kind %s", env.EventType, ev.Kind)
		}
		if ev.Trigger != "" && ev.Ignore != "" {
			t.Fatalf("event both triggers (%s) and is ignored (%s)", ev.Trigger, ev.Ignore)
		}
	})
}
