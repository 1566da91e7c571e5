package trackers

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestContentDigestChangesOnlyWithWhatAPersonEdits(t *testing.T) {
	g := NewWithT(t)
	base := Ticket{ID: "7", Title: "Crash on save", Body: "Steps…", State: "open", Labels: []string{"bug", "agent-smith"},
		URL: "https://x/7", Assignee: "dev", Comments: []Comment{{ID: "1", Body: "me too"}}}
	d := ContentDigest(base)
	g.Expect(d).To(HaveLen(64))
	same := []struct {
		name string
		edit func(*Ticket)
	}{
		{"labels in another order", func(t *Ticket) { t.Labels = []string{"agent-smith", "bug"} }},
		{"a lifecycle label agent-smith wrote", func(t *Ticket) { t.Labels = append(t.Labels, LifecycleFailed.Label()) }},
		{"a new comment", func(t *Ticket) { t.Comments = append(t.Comments, Comment{ID: "2", Body: "/agent-smith"}) }},
		{"state spelled in another case", func(t *Ticket) { t.State = "Open" }},
		{"another assignee", func(t *Ticket) { t.Assignee = "lead" }},
	}
	for _, tc := range same {
		tk := base
		tk.Labels = append([]string(nil), base.Labels...)
		tc.edit(&tk)
		g.Expect(ContentDigest(tk)).To(Equal(d), tc.name)
	}
	changed := []struct {
		name string
		edit func(*Ticket)
	}{
		{"body edited", func(t *Ticket) { t.Body += " And on load." }},
		{"title edited", func(t *Ticket) { t.Title = "Crash" }},
		{"label added", func(t *Ticket) { t.Labels = append(t.Labels, "urgent") }},
		{"closed", func(t *Ticket) { t.State = "closed" }},
		{"text moved between title and body", func(t *Ticket) { t.Title, t.Body = "Crash on save S", "teps…" }},
	}
	for _, tc := range changed {
		tk := base
		tk.Labels = append([]string(nil), base.Labels...)
		tc.edit(&tk)
		g.Expect(ContentDigest(tk)).NotTo(Equal(d), tc.name)
	}
}
