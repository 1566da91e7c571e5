package gitlab

import (
	"context"
	"net/url"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
)

func TestListStateCoversOpenStates(t *testing.T) {
	cases := []struct {
		openStates []string
		want       string
	}{
		{[]string{"open"}, "opened"},
		{[]string{"opened"}, "opened"},
		{[]string{" Open "}, "opened"},
		{[]string{"closed"}, "closed"},
		{[]string{"open", "closed"}, "all"},
		{[]string{"New", "Active"}, ""},
		{nil, ""},
	}
	for _, tc := range cases {
		if got := listState(openStatesOf(tc.openStates)); got != tc.want {
			t.Errorf("listState(%q) = %q, want %q", tc.openStates, got, tc.want)
		}
	}
}

func TestCandidatesFollowOpenStates(t *testing.T) {
	f := newFixture(t)
	open := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "open", Labels: []string{"agent-smith"}})
	closed := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "closed", Labels: []string{"ai-fix"}, State: "closed"})
	cases := []struct {
		name       string
		openStates []string
		want       []string
	}{
		{"GitLab's own word for open", []string{"opened"}, []string{itoa(open)}},
		{"closed only", []string{"closed"}, []string{itoa(closed)}},
		{"both", []string{"open", "closed"}, []string{itoa(open), itoa(closed)}},
		{"states GitLab has not", []string{"Active"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			trc := trackerConfig(f.fake)
			trc.OpenStates = tc.openStates
			tr, err := New("shop", trc, f.cfg, WithHTTPClient(f.fake.Client()))
			g.Expect(err).NotTo(HaveOccurred())
			got, err := tr.Candidates(context.Background())
			g.Expect(err).NotTo(HaveOccurred())
			var ids []string
			for _, tk := range got {
				ids = append(ids, tk.ID)
			}
			g.Expect(ids).To(ConsistOf(tc.want))
		})
	}
}

func TestCandidatesAskOnePagedQueryPerTriggerLabel(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "a", Labels: []string{"agent-smith"}})
	trc := trackerConfig(f.fake)
	// A lifecycle label configured as a trigger label is never polled for.
	trc.TriggerLabels = append(trc.TriggerLabels, "agent-smith:queued")
	tr, err := New("shop", trc, &config.Config{Secrets: f.cfg.Secrets}, WithHTTPClient(f.fake.Client()))
	g.Expect(err).NotTo(HaveOccurred())
	before := len(f.fake.Requests())
	_, err = tr.Candidates(context.Background())
	g.Expect(err).NotTo(HaveOccurred())

	var queries []url.Values
	for _, r := range f.fake.Requests()[before:] {
		path, query, _ := strings.Cut(r.Path, "?")
		g.Expect(path).To(Equal("/projects/acme%2Fshop/issues"))
		q, err := url.ParseQuery(query)
		g.Expect(err).NotTo(HaveOccurred())
		queries = append(queries, q)
	}
	g.Expect(queries).To(HaveLen(2))
	for i, label := range []string{"agent-smith", "ai-fix"} {
		g.Expect(queries[i].Get("labels")).To(Equal(label))
		g.Expect(queries[i].Get("state")).To(Equal("opened"))
		g.Expect(queries[i].Get("order_by")).To(Equal("created_at"))
		g.Expect(queries[i].Get("sort")).To(Equal("asc"))
		g.Expect(queries[i].Get("per_page")).To(Equal("100"))
	}
}
