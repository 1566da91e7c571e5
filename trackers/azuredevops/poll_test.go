package azuredevops

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/azuredevops/adofake"
)

func TestCandidatesQueryIsWIQL(t *testing.T) {
	got := candidatesQuery([]string{"New", "Active"}, []string{"agent-smith", "team's fix"}, 0)
	want := "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.State] IN ('New', 'Active')" +
		" AND ([System.Tags] CONTAINS 'agent-smith' OR [System.Tags] CONTAINS 'team''s fix')" +
		" AND [System.Tags] NOT CONTAINS 'agent-smith:queued' AND [System.Tags] NOT CONTAINS 'agent-smith:in-progress'" +
		" AND [System.Tags] NOT CONTAINS 'agent-smith:awaiting-input' AND [System.Tags] NOT CONTAINS 'agent-smith:done'" +
		" AND [System.Tags] NOT CONTAINS 'agent-smith:failed' AND [System.Tags] NOT CONTAINS 'agent-smith:cancelled' ORDER BY [System.Id] ASC"
	if got != want {
		t.Fatalf("query\n%s\nwant\n%s", got, want)
	}
	if next := candidatesQuery([]string{"New"}, []string{"x"}, 41); !strings.Contains(next, " AND [System.Id] > 41 ORDER BY") {
		t.Fatalf("a later page starts after the last id: %s", next)
	}
}

func TestPollReadsEachPageInOneBatch(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, adofake.WithMaxBatch(2))
	tr, err := New("platform", trackerConfig(f.fake), testConfig(), WithHTTPClient(f.fake.Client()), WithPageSize(2))
	g.Expect(err).NotTo(HaveOccurred())
	var want []string
	for i := range 5 {
		want = append(want, strconv.Itoa(f.workItem("candidate "+strconv.Itoa(i), "Active", "agent-smith")))
	}
	before := len(f.fake.Requests())
	got, err := tr.Candidates(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ids(got)).To(Equal(want), "oldest id first")

	var paths []string
	for _, r := range f.fake.Requests()[before:] {
		g.Expect(r.Status).To(Equal(http.StatusOK), r.Path)
		paths = append(paths, r.Method+" "+strings.Split(r.Path, "?")[0]+" "+queryTop(r.Path))
	}
	g.Expect(paths).To(Equal([]string{
		"POST /Platform/_apis/wit/wiql $top=2", "POST /Platform/_apis/wit/workitemsbatch ",
		"POST /Platform/_apis/wit/wiql $top=2", "POST /Platform/_apis/wit/workitemsbatch ",
		"POST /Platform/_apis/wit/wiql $top=2", "POST /Platform/_apis/wit/workitemsbatch ",
	}))
}

func queryTop(path string) string {
	for _, kv := range strings.Split(strings.SplitN(path+"?", "?", 2)[1], "&") {
		if strings.HasPrefix(kv, "%24top=") {
			return "$top=" + strings.TrimPrefix(kv, "%24top=")
		}
	}
	return ""
}

func TestCandidatesAreNormalizedTickets(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	dana := adofake.Identity{DisplayName: "Dana Dev", UniqueName: "dana@acme.example", ID: "d"}
	html := f.fake.CreateWorkItem(adofake.NewWorkItem{Project: testProject, Title: "Due dates shift", State: "Active",
		Description: "<div>In CET the day before is stored.</div><div>See <a href=\"x\">log</a></div>", AreaPath: `Platform\TodoList\Api`,
		Tags: []string{"bug", "agent-smith"}, AssignedTo: &dana})
	md := f.fake.CreateWorkItem(adofake.NewWorkItem{Project: testProject, Title: "Markdown", State: "New",
		Description: "**Steps**\n1. open", DescriptionMarkdown: true, Tags: []string{"ai-fix"}})
	f.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Billing", Title: "other project", State: "New", Tags: []string{"agent-smith"}})
	f.fake.CreateWorkItem(adofake.NewWorkItem{Project: testProject, Title: "resolved", State: "Resolved", Tags: []string{"agent-smith"}})
	f.fake.CreateWorkItem(adofake.NewWorkItem{Project: testProject, Title: "tag as a prefix only", State: "New", Tags: []string{"agent-smith-later"}})

	got, err := f.tracker.Candidates(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	base := f.fake.OrgURL() + "/Platform/_workitems/edit/"
	g.Expect(got).To(Equal([]trackers.Ticket{
		{ID: strconv.Itoa(html), Title: "Due dates shift", Body: "In CET the day before is stored.\nSee log", URL: base + strconv.Itoa(html),
			State: "Active", Labels: []string{"bug", "agent-smith"}, AreaPath: `Platform\TodoList\Api`, Assignee: "Dana Dev"},
		{ID: strconv.Itoa(md), Title: "Markdown", Body: "**Steps**\n1. open", URL: base + strconv.Itoa(md),
			State: "New", Labels: []string{"ai-fix"}, AreaPath: "Platform"},
	}))
}

func TestPollWithoutOpenStatesOrTriggerTagsAsksNothing(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	before := len(f.fake.Requests())
	for _, tc := range []struct{ states, tags []string }{
		{nil, []string{"agent-smith"}},
		{[]string{"New"}, []string{"agent-smith:queued"}},
	} {
		c := trackerConfig(f.fake)
		c.OpenStates, c.TriggerLabels = tc.states, tc.tags
		tr, err := New("platform", c, testConfig(), WithHTTPClient(f.fake.Client()))
		g.Expect(err).NotTo(HaveOccurred())
		got, err := tr.Candidates(context.Background())
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(BeEmpty())
	}
	g.Expect(f.fake.Requests()[before:]).To(BeEmpty())
}

func TestWIQLResultLimitIsNeverHit(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, adofake.WithWIQLLimit(3))
	for i := range 7 {
		f.workItem("c"+strconv.Itoa(i), "New", "agent-smith")
	}
	got, err := f.tracker.Candidates(context.Background())
	g.Expect(err).NotTo(HaveOccurred(), "every query names $top, so a large backlog is paged, not refused")
	g.Expect(got).To(HaveLen(7))
}

func ids(ts []trackers.Ticket) []string {
	out := make([]string, len(ts))
	for i, tk := range ts {
		out[i] = tk.ID
	}
	return out
}
