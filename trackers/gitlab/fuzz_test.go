package gitlab

import (
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
)

// FuzzParseWebhook feeds the parser arbitrary event names and bodies: it
// must never panic, must refuse what it cannot read with ErrBadPayload,
// and what it accepts as work must name a real issue iid.
func FuzzParseWebhook(f *testing.F) {
	fake := gitlabfake.New()
	defer fake.Close()
	fake.AddProject(shopProject, "main")
	fake.AddUser("dev")
	iid := fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "t", Description: "b", Labels: []string{"agent-smith"}})
	secret := fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "s", Labels: []string{"bug"}, Confidential: true})
	mr := fake.OpenMergeRequest(shopProject, "fix", "main", "Fix")
	for _, d := range []gitlabfake.Delivery{
		fake.IssueHook(shopProject, iid, gitlabfake.IssueChange{Action: "update", LabelsBefore: []string{}}),
		fake.IssueHook(shopProject, iid, gitlabfake.IssueChange{Action: "open"}),
		fake.IssueHook(shopProject, secret, gitlabfake.IssueChange{Action: "close"}),
		fake.NoteHook(shopProject, fake.AddNote(shopProject, iid, "/agent-smith fix-bug", "dev"), "create"),
		fake.NoteHook(shopProject, fake.AddMergeRequestNote(shopProject, mr, "/agent-smith", "dev"), "create"),
	} {
		f.Add(d.Event, d.Body)
	}
	f.Add("Issue Hook", []byte(`{"object_kind":"issue","project":{"id":7,"path_with_namespace":"ACME/shop"},"object_attributes":{"iid":1,"action":"update","labels":[{"title":null}]},"changes":{"labels":{"current":[{}]}}}`))
	f.Add("Note Hook", []byte(`{"object_kind":"note","project":{"path_with_namespace":"acme/shop"},"object_attributes":{"id":1,"noteable_type":"Issue","created_at":"yesterday"},"issue":{"iid":-1}}`))
	f.Add("Confidential Note Hook", []byte(`{"project":{"id":7},"object_attributes":{"id":2,"noteable_type":"Issue","url":"#"},"issue":{"iid":3},"user":null}`))

	a := &api{project: shopProject}
	tr := &Tracker{name: "shop", api: a, members: newMembership(a, logr.Discard()), triggerLabels: []string{"agent-smith"}, openStates: []string{stateOpen},
		judge: func(id int64) (verdict, trackers.Identity) {
			return verdict(id % 3), trackers.Identity{ID: "2", Dedicated: id%2 == 0}
		}}
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		h := http.Header{}
		h.Set("X-Gitlab-Event", event)
		h.Set("Idempotency-Key", "d-1")
		ev, err := tr.ParseWebhook(h, body)
		if err != nil {
			if !errors.Is(err, trackers.ErrBadPayload) {
				t.Fatalf("error %v does not wrap ErrBadPayload", err)
			}
			return
		}
		if ev.Kind != trackers.EventTicket && ev.Kind != trackers.EventComment {
			t.Fatalf("unknown kind %q", ev.Kind)
		}
		if ev.DeliveryID != "d-1" {
			t.Fatalf("delivery id %q", ev.DeliveryID)
		}
		if ev.Trigger != "" && ev.Ignore != "" {
			t.Fatalf("event both triggers (%s) and is ignored (%s)", ev.Trigger, ev.Ignore)
		}
		switch event {
		case eventIssue, eventConfidentialIssue, eventNote, eventConfidentialNote:
		default:
			if ev.Ignore == "" {
				t.Fatalf("event %q is not handled but was not ignored", event)
			}
			return
		}
		if ev.Ignore != "" {
			return
		}
		if n, err := strconv.Atoi(ev.Ticket.ID); err != nil || n <= 0 {
			t.Fatalf("accepted %s with ticket id %q", event, ev.Ticket.ID)
		}
		if ev.Kind == trackers.EventComment && ev.Comment == nil {
			t.Fatal("comment event without comment")
		}
	})
}
