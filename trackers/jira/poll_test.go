package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers/jira/jirafake"
)

func TestCandidatesQuery(t *testing.T) {
	g := NewWithT(t)
	g.Expect(candidatesJQL("SHOP", []string{"To Do", `Say "hi"`}, []string{"agent-smith", `back\slash`})).To(Equal(
		`project = "SHOP" AND status in ("To Do", "Say \"hi\"") AND labels in ("agent-smith", "back\\slash") AND ` +
			`labels not in ("agent-smith:queued", "agent-smith:in-progress", "agent-smith:awaiting-input", "agent-smith:done", "agent-smith:failed", "agent-smith:cancelled") ` +
			`ORDER BY created ASC`))
}

// searches decodes the search requests a fake answered.
func searches(t *testing.T, fake *jirafake.Server) []searchRequest {
	t.Helper()
	var out []searchRequest
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && r.Path == "/rest/api/3/search/jql" {
			var req searchRequest
			if err := json.Unmarshal(r.Body, &req); err != nil {
				t.Fatal(err)
			}
			out = append(out, req)
		}
	}
	return out
}

func TestCandidatesPageByToken(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, jirafake.WithMaxResults(4))
	var want []string
	for i := range 9 {
		want = append(want, f.fake.CreateIssue(testProject, jirafake.NewIssue{Summary: fmt.Sprintf("c%d", i), Labels: []string{"ai-fix"},
			Status: []string{"To Do", "In Progress"}[i%2]}))
	}
	f.fake.CreateIssue(testProject, jirafake.NewIssue{Summary: "in review", Labels: []string{"ai-fix"}, Status: "In Review"})

	got, err := f.tracker.Candidates(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	keys := make([]string, len(got))
	for i, tk := range got {
		keys[i] = tk.ID
		g.Expect(tk.URL).To(Equal(f.fake.BrowseURL(tk.ID)))
		g.Expect(tk.Labels).To(Equal([]string{"ai-fix"}))
	}
	g.Expect(keys).To(Equal(want), "every page, oldest first")
	reqs := searches(t, f.fake)
	g.Expect(reqs).To(HaveLen(3))
	g.Expect(reqs[0].NextPageToken).To(BeEmpty())
	g.Expect(reqs[1].NextPageToken).NotTo(BeEmpty())
	g.Expect(reqs[2].NextPageToken).NotTo(Equal(reqs[1].NextPageToken))
	for _, r := range reqs {
		g.Expect(r.JQL).To(Equal(reqs[0].JQL), "one query, continued")
		g.Expect(r.Fields).To(Equal([]string{"summary", "description", "status", "labels", "assignee"}))
		g.Expect(r.MaxResults).To(Equal(100))
	}
}

func TestCandidatesSkipStatusesTheSiteDoesNotHave(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	trc := trackerConfig(f.fake)
	trc.OpenStates = []string{"To Do", "Open", "Backlog"}
	tr := f.build(t, trc, testConfig())
	key := f.issue("agent-smith")
	var logged []string
	ctx := logr.NewContext(context.Background(), funcr.New(func(prefix, args string) { logged = append(logged, args) }, funcr.Options{}))

	got, err := tr.Candidates(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(ConsistOf(HaveField("ID", key)))
	reqs := searches(t, f.fake)
	g.Expect(reqs).To(HaveLen(2))
	g.Expect(reqs[1].JQL).To(ContainSubstring(`status in ("To Do")`))
	g.Expect(logged).To(ConsistOf(And(ContainSubstring(`"unknown"=["Open" "Backlog"]`), ContainSubstring(`"polled"=["To Do"]`))))

	_, err = tr.Candidates(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(searches(t, f.fake)).To(HaveLen(3), "the next poll asks for the known statuses at once")
	g.Expect(logged).To(HaveLen(1))
}

func TestCandidatesFailWhenNoOpenStateExists(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	trc := trackerConfig(f.fake)
	trc.OpenStates = []string{"Open", "Reopened"}
	tr := f.build(t, trc, testConfig())
	_, err := tr.Candidates(context.Background())
	g.Expect(err).To(MatchError(ContainSubstring("poll tracker shop: none of open_states (Open, Reopened) is a status of the Jira site")))
	g.Expect(err).To(MatchError(ContainSubstring("The value 'Open' does not exist for the field 'status'.")))
}

func TestCandidatesWithNothingToAskForAskNothing(t *testing.T) {
	cases := []struct {
		name       string
		labels     []string
		openStates []string
	}{
		{"no trigger labels", nil, []string{"To Do"}},
		{"only lifecycle labels", []string{"agent-smith:queued"}, []string{"To Do"}},
		{"no open states", []string{"agent-smith"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f := newFixture(t)
			trc := trackerConfig(f.fake)
			trc.TriggerLabels, trc.OpenStates = tc.labels, tc.openStates
			tr := f.build(t, trc, testConfig())
			got, err := tr.Candidates(context.Background())
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(BeEmpty())
			g.Expect(f.fake.Requests()).To(BeEmpty())
		})
	}
}

func TestCandidatesReportOtherSearchErrors(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	trc := trackerConfig(f.fake)
	trc.Project = "NOPE"
	tr := f.build(t, trc, testConfig())
	_, err := tr.Candidates(context.Background())
	g.Expect(err).To(MatchError(`poll tracker shop: search issues (page 1): Jira answered 400 Bad Request: The value 'NOPE' does not exist for the field 'project'.`))
}
