package jira

import (
	"context"
	"net/http"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers/jira/jirafake"
)

// writes lists the requests that changed something, as "METHOD path
// status".
func writes(fake *jirafake.Server) []string {
	var out []string
	for _, r := range fake.Requests() {
		if r.Method != http.MethodGet {
			out = append(out, r.Method+" "+r.Path+" "+http.StatusText(r.Status))
		}
	}
	return out
}

func TestCompleteTransitionsWithTheCommentInOneRequest(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	key := f.issue("agent-smith")
	g.Expect(f.tracker.Complete(context.Background(), key, "done", "Pull requests are open.")).To(Succeed())
	is := mustIssue(t, f.fake, key)
	g.Expect(is.Status).To(Equal("Done"))
	g.Expect(is.Comments).To(ConsistOf(And(HaveField("Body", "Pull requests are open."), HaveField("Author.DisplayName", "Agent Smith"))))
	g.Expect(writes(f.fake)).To(Equal([]string{"POST /rest/api/3/issue/" + key + "/transitions No Content"}))
	reqs := f.fake.Requests()
	g.Expect(string(reqs[len(reqs)-1].Body)).To(MatchJSON(`{"transition":{"id":"41"},"update":{"comment":[{"add":{"body":
		{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Pull requests are open."}]}]}}}]}}`))
}

func TestCompletePostsTheCommentApartWhenTheTransitionRefusesIt(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, jirafake.WithTransitionScreens())
	key := f.issue("agent-smith")
	g.Expect(f.tracker.Complete(context.Background(), key, "Done", "Pull requests are open.")).To(Succeed())
	is := mustIssue(t, f.fake, key)
	g.Expect(is.Status).To(Equal("Done"))
	g.Expect(is.Comments).To(ConsistOf(HaveField("Body", "Pull requests are open.")))
	g.Expect(writes(f.fake)).To(Equal([]string{
		"POST /rest/api/3/issue/" + key + "/transitions Bad Request",
		"POST /rest/api/3/issue/" + key + "/transitions No Content",
		"POST /rest/api/3/issue/" + key + "/comment Created",
	}))

	// A transition with a screen takes the comment in the same request.
	other := f.issue("agent-smith")
	g.Expect(f.tracker.Complete(context.Background(), other, "In Review", "Ready.")).To(Succeed())
	g.Expect(writes(f.fake)[3:]).To(Equal([]string{"POST /rest/api/3/issue/" + other + "/transitions No Content"}))
	g.Expect(mustIssue(t, f.fake, other).Comments).To(ConsistOf(HaveField("Body", "Ready.")))
}

func TestCompleteErrorNamesWhereTheIssueCanGo(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	key := f.issue("agent-smith")
	err := f.tracker.Complete(context.Background(), key, "Closed", "Pull requests are open.")
	g.Expect(err).To(MatchError(`complete issue ` + key + `: no transition leads to status "Closed"; the issue can move to ` +
		`"In Progress" (transition "Start progress"), "In Review" (transition "Request review"), "Done" (transition "Resolve")`))
	is := mustIssue(t, f.fake, key)
	g.Expect(is.Status).To(Equal("To Do"))
	g.Expect(is.Comments).To(BeEmpty())
}

func TestCompleteOfAnIssueAlreadyThereOnlyComments(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	key := f.issue("agent-smith")
	f.fake.SetStatus(key, "Done")
	g.Expect(f.tracker.Complete(context.Background(), key, "Done", "Pull requests are open.")).To(Succeed())
	g.Expect(mustIssue(t, f.fake, key).Comments).To(ConsistOf(HaveField("Body", "Pull requests are open.")))
	g.Expect(writes(f.fake)).To(Equal([]string{"POST /rest/api/3/issue/" + key + "/comment Created"}))
}

func TestCompleteChoosesTheTransition(t *testing.T) {
	statuses := []jirafake.Status{{Name: "Open", Category: "new"}, {Name: "Closed", Category: "done"}}
	transitions := []jirafake.Transition{
		{ID: "2", Name: "Close as duplicate", To: "Closed"},
		{ID: "3", Name: "Close issue", To: "Closed"},
		{ID: "4", Name: "Reopen", To: "Open"},
	}
	cases := []struct {
		name, doneStatus, closeTransition string
		wantID, wantStatus                string
	}{
		{"first transition into the status", "Closed", "", "2", "Closed"},
		{"close_transition_name picks among several", "closed", "close issue", "3", "Closed"},
		{"close_transition_name that leads elsewhere is not taken", "Closed", "Reopen", "2", "Closed"},
		{"done_status naming a transition", "Close issue", "", "3", "Closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f := newFixture(t, jirafake.WithWorkflow(statuses, transitions))
			trc := trackerConfig(f.fake)
			trc.Settings.(*Settings).CloseTransitionName = tc.closeTransition
			tr := f.build(t, trc, testConfig())
			key := f.issue("agent-smith")
			g.Expect(tr.Complete(context.Background(), key, tc.doneStatus, "")).To(Succeed())
			g.Expect(mustIssue(t, f.fake, key).Status).To(Equal(tc.wantStatus))
			reqs := f.fake.Requests()
			g.Expect(string(reqs[len(reqs)-1].Body)).To(MatchJSON(`{"transition":{"id":"` + tc.wantID + `"}}`))
		})
	}
}

func TestCompleteWithoutDoneStatusOnlyComments(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	key := f.issue("agent-smith")
	g.Expect(f.tracker.Complete(context.Background(), key, "", "")).To(Succeed())
	g.Expect(f.fake.Requests()).To(BeEmpty(), "nothing to do, nothing asked")
	g.Expect(f.tracker.Complete(context.Background(), key, "", "Pull requests are open.")).To(Succeed())
	is := mustIssue(t, f.fake, key)
	g.Expect(is.Status).To(Equal("To Do"))
	g.Expect(is.Comments).To(ConsistOf(HaveField("Body", "Pull requests are open.")))
}

func TestPickTransition(t *testing.T) {
	trs := []transition{
		{ID: "11", Name: "Reopen", To: named{"To Do"}},
		{ID: "41", Name: "Resolve", To: named{"Done"}},
		{ID: "42", Name: "Won't do", To: named{"Done"}},
	}
	cases := []struct {
		name, status, preferred string
		want                    string
		err                     string
	}{
		{"by target status", "Done", "", "41", ""},
		{"target status case-insensitively", "DONE", "", "41", ""},
		{"preferred among several", "done", "won't DO", "42", ""},
		{"by transition name", "Resolve", "", "41", ""},
		{"none", "Closed", "", "", `no transition leads to status "Closed"; the issue can move to "To Do" (transition "Reopen"), "Done" (transition "Resolve"), "Done" (transition "Won't do")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := pickTransition(trs, tc.status, tc.preferred)
			if tc.err != "" {
				g.Expect(err).To(MatchError(tc.err))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got.ID).To(Equal(tc.want))
		})
	}
	_, err := pickTransition(nil, "Done", "")
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring("no transitions available")))
	NewWithT(t).Expect(strings.Count(err.Error(), "Done")).To(Equal(1))
}
