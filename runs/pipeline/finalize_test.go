package pipeline

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
)

func TestFinalActionsWriteOnlyWhatTheTicketDoesNotShowYet(t *testing.T) {
	steps := []runs.StepRecord{{Name: "ticket", State: "done"}, {Name: "plan", State: "running"}}
	failed := runs.Run{ID: "r1", State: runs.StateFailed, Step: "plan", Error: "step plan: model refused", Steps: steps, StatusCommentID: "10"}
	finalStatus := renderStatus(statusViewOf(failed, nil))
	working := statusMarker("r1") + "\n### agent-smith is working on this\n"
	failure := failureComment("r1", "plan", "step plan: model refused", nil)
	own := func(id, body string) trackers.Comment { return trackers.Comment{ID: id, Body: body, Own: true} }
	succeeded := runs.Run{ID: "r1", State: runs.StateSucceeded, Outcome: runs.RunOutcome{DoneStatus: "In Review", Summary: "Fixed."}}
	done := finalComment("r1", "Fixed.", nil, runs.Usage{})
	for _, tc := range []struct {
		name    string
		run     runs.Run
		ticket  trackers.Ticket
		skipped map[string]string
		want    []string
	}{
		{"a failed run the ticket knows nothing of", failed, trackers.Ticket{ID: "7", Labels: []string{"agent-smith:in-progress"}, Comments: []trackers.Comment{{ID: "3", Body: "hi"}}},
			nil, []string{whatStatus + ":post", whatComment + ":post", whatLifecycle + ":lifecycle"}},
		{"the status comment still says working", failed, trackers.Ticket{ID: "7", Labels: []string{"agent-smith:failed"}, Comments: []trackers.Comment{own("10", working), own("11", failure)}},
			nil, []string{whatStatus + ":edit"}},
		{"its id was lost: found by its mark", failed, trackers.Ticket{ID: "7", Labels: []string{"agent-smith:failed"}, Comments: []trackers.Comment{own("12", working), own("11", failure)}},
			nil, []string{whatStatus + ":edit"}},
		{"everything shows the end", failed, trackers.Ticket{ID: "7", Labels: []string{"agent-smith:failed"}, Comments: []trackers.Comment{own("10", finalStatus), own("11", failure)}},
			nil, nil},
		{"a stranger's comment with the mark is not ours", failed, trackers.Ticket{ID: "7", Labels: []string{"agent-smith:failed"}, Comments: []trackers.Comment{own("10", finalStatus), {ID: "11", Body: failure}}},
			nil, []string{whatComment + ":post"}},
		{"a label write given up on is not tried again", failed, trackers.Ticket{ID: "7", Labels: []string{"agent-smith:in-progress"}, Comments: []trackers.Comment{own("10", working), own("11", failure)}},
			map[string]string{whatLifecycle: "could not set the lifecycle label: 403"}, []string{whatStatus + ":edit"}},
		{"a success not yet told", succeeded, trackers.Ticket{ID: "7", State: "open", Labels: []string{"agent-smith:in-progress"}},
			nil, []string{whatComment + ":post", whatDone + ":complete", whatLifecycle + ":lifecycle"}},
		{"a success whose comment landed", succeeded, trackers.Ticket{ID: "7", State: "open", Labels: []string{"agent-smith:done"}, Comments: []trackers.Comment{own("20", done)}},
			nil, []string{whatDone + ":complete"}},
		{"a success fully told", succeeded, trackers.Ticket{ID: "7", Labels: []string{"agent-smith:done", "In Review"}, Comments: []trackers.Comment{own("20", done)}},
			nil, nil},
		{"a notice whose status comment was given up on is made whole", failed, trackers.Ticket{ID: "7", Labels: []string{"agent-smith:failed"}, Comments: []trackers.Comment{own("10", working), own("11", endingNotice(failed))}},
			map[string]string{whatStatus: "could not update the status comment: 403"}, []string{whatComment + ":edit"}},
		{"a queued run cancelled: no status comment to finish", runs.Run{ID: "r1", State: runs.StateCancelled, Error: "cancelled by alice"}, trackers.Ticket{ID: "7"},
			nil, []string{whatComment + ":post", whatLifecycle + ":lifecycle"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range finalActions(tc.run, tc.ticket, tc.skipped) {
				got = append(got, a.what+":"+string(a.kind))
			}
			NewWithT(t).Expect(got).To(Equal(tc.want))
		})
	}
}

// The comment on how a run ended notifies the ticket's watchers: with a
// status comment on the ticket it only adds to it (no heading, table,
// reason or usage of its own); without one it tells the whole story.
func TestTheEndingCommentAddsToTheStatusCommentOrTellsTheWholeStory(t *testing.T) {
	steps := []runs.StepRecord{{Name: "ticket", State: "done"}, {Name: "test", State: "failed"}}
	repos := []runs.RepoResult{{Name: "calc", Result: "[pull request #4](https://x/pull/4)"}}
	usage := runs.Usage{InputTokens: 1200, OutputTokens: 80, CostUSD: 0.01}
	for _, tc := range []struct {
		name         string
		run          runs.Run
		notice, told []string
	}{
		{"succeeded", runs.Run{State: runs.StateSucceeded, Usage: usage, Outcome: runs.RunOutcome{Summary: "add.sh adds now.", Repos: repos}},
			[]string{"**Done.** add.sh adds now.", "Review the pull request linked"}, []string{"### agent-smith finished", "| calc | [pull request #4]", "Model usage"}},
		{"nothing to do", runs.Run{State: runs.StateSucceeded, Outcome: runs.RunOutcome{Summary: "Nothing to change: it adds", NothingToDo: true}},
			[]string{"nothing to change"}, []string{"### agent-smith finished", "Nothing to change: it adds"}},
		{"failed", runs.Run{State: runs.StateFailed, Outcome: runs.RunOutcome{Step: "test", Reason: "FAIL: 6", WIP: []string{"`agent-smith/7-wip` in calc"}}},
			[]string{"could not finish", "unfinished work", "label the ticket again"}, []string{"### agent-smith failed at step `test`", "> FAIL: 6", "agent-smith/7-wip"}},
		{"cancelled", runs.Run{State: runs.StateCancelled, Error: "cancelled by alice"},
			[]string{"called off", "start over"}, []string{"### agent-smith stopped", "> cancelled by alice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			run := tc.run
			run.ID = "r1"
			bodyOf := func(tk trackers.Ticket) string {
				for _, a := range finalActions(run, tk, nil) {
					if a.what == whatComment || a.what == whatDone {
						return a.body
					}
				}
				return ""
			}
			run.Steps = steps
			notice := bodyOf(trackers.Ticket{ID: "7"})
			g.Expect(notice).To(HavePrefix(finalMark(run.State, "r1") + " -->\n"))
			for _, want := range tc.notice {
				g.Expect(notice).To(ContainSubstring(want))
			}
			for _, whole := range tc.told {
				g.Expect(notice).NotTo(ContainSubstring(whole), "the status comment tells it")
			}
			g.Expect(notice).NotTo(Or(ContainSubstring("###"), ContainSubstring("|---|"), ContainSubstring("Model usage"), ContainSubstring(wholeHeads[run.State])))

			run.Steps = nil
			whole := bodyOf(trackers.Ticket{ID: "7"})
			for _, want := range tc.told {
				g.Expect(whole).To(ContainSubstring(want))
			}
			g.Expect(whole).NotTo(ContainSubstring(noticeRef), "there is no status comment to point to")
		})
	}
}
