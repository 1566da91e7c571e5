package github

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	gojson "github.com/goccy/go-json"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
	"github.com/agent-smith/agent-smith/trackers/internal/account"
)

// FuzzParseWebhook feeds the parser arbitrary event names and bodies: it
// must never panic, must refuse what it cannot read with ErrBadPayload, and
// what it accepts as an issue event must name a real issue number.
func FuzzParseWebhook(f *testing.F) {
	fake := githubfake.New()
	defer fake.Close()
	fake.AddRepo(shopRepo, "main")
	n := fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "t", Body: "b", Labels: []string{"agent-smith"}})
	pr := fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "pr", PullRequest: true})
	cid := fake.AddComment(shopRepo, n, "/agent-smith fix-bug", githubfake.User{Login: "a"}, "OWNER")
	for _, d := range []githubfake.Delivery{
		fake.IssuesEvent(shopRepo, n, "labeled", "agent-smith", githubfake.User{Login: "a"}),
		fake.IssuesEvent(shopRepo, n, "opened", "", githubfake.User{Login: "a"}),
		fake.IssuesEvent(shopRepo, pr, "labeled", "agent-smith", githubfake.User{Login: "a"}),
		fake.IssueCommentEvent(shopRepo, cid, "created"),
		fake.PingEvent(),
	} {
		f.Add(d.Event, d.Body)
	}
	f.Add("issues", []byte(`{"action":"labeled","issue":{"number":1,"labels":[{"name":null}]},"label":{}}`))
	f.Add("issue_comment", []byte(`{"action":"created","issue":{"number":-1},"comment":{"created_at":"yesterday"}}`))

	tr := &Tracker{name: "shop", repo: shopRepo, secret: []byte(testSecret), triggerLabels: []string{"agent-smith"}, openStates: []string{"open"},
		self: account.New(func(context.Context) (trackers.Identity, error) {
			return trackers.Identity{ID: "1", Name: "hubot"}, nil
		})}
	if _, err := tr.Self(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		h := http.Header{}
		h.Set("X-GitHub-Event", event)
		h.Set("X-GitHub-Delivery", "d-1")
		ev, err := tr.ParseWebhook(h, body)
		if err != nil {
			if !errors.Is(err, trackers.ErrBadPayload) {
				t.Fatalf("error %v does not wrap ErrBadPayload", err)
			}
			return
		}
		switch ev.Kind {
		case trackers.EventPing:
			return
		case trackers.EventTicket, trackers.EventComment:
		default:
			t.Fatalf("unknown kind %q", ev.Kind)
		}
		if event != "issues" && event != "issue_comment" {
			if ev.Ignore == "" {
				t.Fatalf("event %q is not handled but was not ignored", event)
			}
			return
		}
		if strings.HasPrefix(ev.Ignore, "not this tracker's repository") {
			// Another repository's issue is not read at all.
			return
		}
		if n, err := strconv.Atoi(ev.Ticket.ID); err != nil || n <= 0 {
			t.Fatalf("accepted %s with ticket id %q", event, ev.Ticket.ID)
		}
		if ev.Kind == trackers.EventComment && ev.Comment == nil {
			t.Fatal("comment event without comment")
		}
		if ev.Trigger != "" && ev.Ignore != "" {
			t.Fatalf("event both triggers (%s) and is ignored (%s)", ev.Trigger, ev.Ignore)
		}
	})
}

// FuzzPayloadDecodersAgree holds the fast decoder to encoding/json: on any
// input both must accept or both refuse, and accept the same values.
func FuzzPayloadDecodersAgree(f *testing.F) {
	f.Add([]byte(`{"action":"labeled","issue":{"number":3,"title":"t\u00e9","body":"b\n","labels":[{"name":"agent-smith"}],"pull_request":{}},"label":{"name":"x"},"comment":{"id":5,"created_at":"2026-01-02T03:04:05Z","user":{"login":"a","type":"Bot"}},"repository":{"clone_url":"https://x/y.git"}}`))
	f.Add([]byte(`{"issue":{"number":1}} trailing`))
	f.Add([]byte(`{"issue":{"number":1.5,"title":"\ud800"}}`))
	f.Add([]byte(`{"action":"a","action":"b","issue":null,"x":[1,{"y":tru}]}`))
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
