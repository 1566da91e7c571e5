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

// patches are the work item patches the fake answered, with their status.
func patches(f *fixture, id int) []int {
	var out []int
	for _, r := range f.fake.Requests() {
		if r.Method == http.MethodPatch && strings.HasPrefix(r.Path, "/Platform/_apis/wit/workitems/"+strconv.Itoa(id)+"?") {
			out = append(out, r.Status)
		}
	}
	return out
}

func TestSetLifecycleWritesTagsBehindARevisionTest(t *testing.T) {
	cases := []struct {
		name    string
		tags    []string
		to      trackers.Lifecycle
		want    []string
		patches []int
	}{
		{"work item without tags", nil, trackers.LifecycleQueued, []string{"agent-smith:queued"}, []int{200}},
		{"replaces the lifecycle tag", []string{"Bug", "agent-smith:queued"}, trackers.LifecycleDone, []string{"Bug", "agent-smith:done"}, []int{200}},
		{"the current lifecycle again writes nothing", []string{"agent-smith:in-progress"}, trackers.LifecycleInProgress, []string{"agent-smith:in-progress"}, nil},
		{"a lifecycle tag in other case counts as set", []string{"Agent-Smith:Failed"}, trackers.LifecycleFailed, []string{"Agent-Smith:Failed"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f := newFixture(t)
			id := f.workItem("x", "Active", tc.tags...)
			g.Expect(f.tracker.SetLifecycle(context.Background(), strconv.Itoa(id), tc.to)).To(Succeed())
			w, _ := f.fake.WorkItem(id)
			g.Expect(w.Tags).To(Equal(tc.want))
			g.Expect(patches(f, id)).To(Equal(tc.patches))
		})
	}
}

func TestSetLifecycleRetriesEachConcurrentEditAndKeepsIt(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := f.workItem("x", "Active", "bug", "agent-smith:queued")
	f.fake.OnNextPatch(id, func() {
		f.fake.Update(id, bob, adofake.AddTags("priority:high"))
		f.fake.OnNextPatch(id, func() { f.fake.Update(id, alice, adofake.RemoveTags("bug")) })
	})
	g.Expect(f.tracker.SetLifecycle(context.Background(), strconv.Itoa(id), trackers.LifecycleInProgress)).To(Succeed())
	w, _ := f.fake.WorkItem(id)
	g.Expect(w.Tags).To(ConsistOf("priority:high", "agent-smith:in-progress"), "both edits survive: the tag added and the tag removed")
	g.Expect(patches(f, id)).To(Equal([]int{http.StatusPreconditionFailed, http.StatusPreconditionFailed, http.StatusOK}))
}

func TestSetLifecycleGivesUpOnAWorkItemThatKeepsChanging(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := f.workItem("x", "Active", "bug")
	var churn func()
	n := 0
	churn = func() {
		n++
		f.fake.Update(id, bob, adofake.AddTags("churn-"+strconv.Itoa(n)))
		f.fake.OnNextPatch(id, churn)
	}
	f.fake.OnNextPatch(id, churn)
	err := f.tracker.SetLifecycle(context.Background(), strconv.Itoa(id), trackers.LifecycleQueued)
	g.Expect(err).To(MatchError(errConflict))
	g.Expect(patches(f, id)).To(HaveLen(maxConflicts))
	w, _ := f.fake.WorkItem(id)
	g.Expect(w.Tags).NotTo(ContainElement("agent-smith:queued"))
}

func TestLifecycleOfAWorkItemElsewhereIsNotFound(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	other := f.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Billing", Title: "x"})
	for _, id := range []string{"987654", strconv.Itoa(other), "abc", "-3", "0"} {
		err := f.tracker.SetLifecycle(context.Background(), id, trackers.LifecycleQueued)
		g.Expect(err).To(MatchError(trackers.ErrNotFound), id)
	}
	w, _ := f.fake.WorkItem(other)
	g.Expect(w.Tags).To(BeEmpty())
}

func TestCompleteMovesStateAndCommentsInOneRevision(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := f.workItem("x", "Active", "agent-smith", "agent-smith:in-progress")
	before, _ := f.fake.WorkItem(id)
	g.Expect(f.tracker.Complete(context.Background(), strconv.Itoa(id), "Resolved", "Pull requests:\n- TodoList.Api#7")).To(Succeed())
	after, _ := f.fake.WorkItem(id)
	g.Expect(after.Rev).To(Equal(before.Rev+1), "one revision for state and comment")
	g.Expect(after.State).To(Equal("Resolved"))
	g.Expect(after.Comments).To(HaveLen(1))
	g.Expect(after.Comments[0].Format).To(Equal("html"))
	// System.History is HTML: the Markdown comment is rendered, not shown raw.
	g.Expect(after.Comments[0].Text).To(ContainSubstring("<li>TodoList.Api#7"))
	g.Expect(unmarkOwn(htmlToText(after.Comments[0].Text))).To(Equal("Pull requests:\nTodoList.Api#7"))
	g.Expect(isOwn(after.Comments[0].Text)).To(BeTrue())
	g.Expect(after.Tags).To(Equal(before.Tags))
}

func TestCompletionCommentRendersHeadingsTablesAndHidesMarkers(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := f.workItem("x", "Active", "agent-smith")
	comment := "<!-- agent-smith:done run=r1 -->\n### agent-smith finished\n\n| Repository | Result |\n|---|---|\n| api | [pull request #7](https://example/pr/7) |\n"
	g.Expect(f.tracker.Complete(context.Background(), strconv.Itoa(id), "Resolved", comment)).To(Succeed())
	w, _ := f.fake.WorkItem(id)
	text := w.Comments[0].Text
	g.Expect(text).To(ContainSubstring("<h3>agent-smith finished</h3>"))
	g.Expect(text).To(ContainSubstring("<table>"))
	g.Expect(text).To(ContainSubstring(`<a href="https://example/pr/7">pull request #7</a>`))
	g.Expect(htmlToText(text)).NotTo(ContainSubstring("agent-smith:done run="), "the marker is not shown as text")
	g.Expect(htmlToText(text)).NotTo(ContainSubstring("###"))
}

func TestCompleteRetriesAfterAConcurrentEditWithoutCommentingTwice(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := f.workItem("x", "Active", "agent-smith")
	f.fake.OnNextPatch(id, func() { f.fake.Update(id, bob, adofake.SetTitle("renamed meanwhile")) })
	g.Expect(f.tracker.Complete(context.Background(), strconv.Itoa(id), "Resolved", "done")).To(Succeed())
	w, _ := f.fake.WorkItem(id)
	g.Expect(w.State).To(Equal("Resolved"))
	g.Expect(w.Title).To(Equal("renamed meanwhile"))
	g.Expect(w.Comments).To(HaveLen(1))
	g.Expect(patches(f, id)).To(Equal([]int{http.StatusPreconditionFailed, http.StatusOK}))
}

func TestCompleteOfAWorkItemAlreadyInTheDoneStateOnlyComments(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := f.workItem("x", "Resolved", "agent-smith")
	g.Expect(f.tracker.Complete(context.Background(), strconv.Itoa(id), "resolved", "see PR")).To(Succeed())
	w, _ := f.fake.WorkItem(id)
	g.Expect(w.State).To(Equal("Resolved"))
	g.Expect(w.Comments).To(HaveLen(1))
	g.Expect(f.tracker.Complete(context.Background(), strconv.Itoa(id), "Resolved", "")).To(Succeed())
	g.Expect(patches(f, id)).To(HaveLen(1), "nothing left to write")
}

func TestCompleteToAStateTheTypeLacksNamesItsStates(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	id := f.workItem("x", "Active", "agent-smith")
	err := f.tracker.Complete(context.Background(), strconv.Itoa(id), "Done", "finished")
	g.Expect(err).To(MatchError(ContainSubstring(`done_status "Done" is not a state of Bug work items in project Platform (its states: New, Active, Resolved, Closed)`)))
	g.Expect(err).To(MatchError(ContainSubstring("TF401320")), "Azure DevOps' own refusal is kept")
	w, _ := f.fake.WorkItem(id)
	g.Expect(w.State).To(Equal("Active"))
	g.Expect(w.Comments).To(BeEmpty(), "a refused patch adds no comment either")
}

func TestCompleteRefusedByAWorkflowRuleSaysSo(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, adofake.WithTransitions("Bug", "New", "Active"))
	id := f.workItem("x", "New", "agent-smith")
	err := f.tracker.Complete(context.Background(), strconv.Itoa(id), "Resolved", "done")
	g.Expect(err).To(MatchError(ContainSubstring("Azure DevOps refused moving it from New to Resolved")))
	g.Expect(err).To(MatchError(ContainSubstring("TF401320")))
	w, _ := f.fake.WorkItem(id)
	g.Expect(w.State).To(Equal("New"))
}

func TestCompleteMatchesStateNamesWithoutRegardToCase(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, adofake.WithStates("Task", "To Do", "Doing", "Done"))
	id := f.fake.CreateWorkItem(adofake.NewWorkItem{Project: testProject, Type: "Task", Title: "x", State: "Doing"})
	g.Expect(f.tracker.Complete(context.Background(), strconv.Itoa(id), "done", "")).To(Succeed())
	w, _ := f.fake.WorkItem(id)
	g.Expect(w.State).To(Equal("Done"))
}
