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
			nil, []string{whatDone + ":complete", whatLifecycle + ":lifecycle"}},
		{"a success whose comment landed", succeeded, trackers.Ticket{ID: "7", State: "open", Labels: []string{"agent-smith:done"}, Comments: []trackers.Comment{own("20", done)}},
			nil, []string{whatDone + ":complete"}},
		{"a success fully told", succeeded, trackers.Ticket{ID: "7", Labels: []string{"agent-smith:done", "In Review"}, Comments: []trackers.Comment{own("20", done)}},
			nil, nil},
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
