package e2e

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/azuredevops/adofake"
)

// TestTodoListWithdrawalCancelsTheRun: moving the work item to Closed, or
// taking its trigger tag off, cancels its run on behalf of the tracker;
// agent-smith's own lifecycle tag edit does not, nor does anything once
// the project's cancel_when says no.
func TestTodoListWithdrawalCancelsTheRun(t *testing.T) {
	closed := func(e *todoList, id int) adofake.Delivery { return e.fake.Update(id, dana, adofake.SetState("Closed")) }
	cases := []struct {
		name   string
		off    bool
		change func(e *todoList, id int) adofake.Delivery
		reason string
	}{
		{name: "moved to Closed", reason: "ticket closed (state Closed)", change: closed},
		{name: "trigger tag removed", reason: "tag agent-smith removed", change: func(e *todoList, id int) adofake.Delivery {
			return e.fake.Update(id, dana, adofake.RemoveTags("agent-smith"))
		}},
		{name: "own lifecycle edit", change: func(e *todoList, id int) adofake.Delivery {
			if err := e.tracker.SetLifecycle(context.Background(), strconv.Itoa(id), trackers.LifecycleQueued); err != nil {
				t.Fatal(err)
			}
			// The revision SetLifecycle(in-progress) writes: one tag for
			// the other.
			bot := adofake.Identity{DisplayName: "Agent Smith", UniqueName: "agent-smith@acme.example", ID: "a5"}
			return e.fake.Update(id, bot, adofake.RemoveTags(trackers.LifecycleQueued.Label()), adofake.AddTags(trackers.LifecycleInProgress.Label()))
		}},
		{name: "moved to Closed with cancel_when off", off: true, change: closed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newTodoList(t)
			if tc.off {
				e.cfg.Projects["azuredevops-todolist"].Trigger().CancelWhen = config.CancelWhen{}
			}
			id := e.fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Type: "Bug", Title: "Due dates shift by one day",
				State: "Active", AreaPath: `Platform\TodoList\Api`, Tags: []string{"bug"}, CreatedBy: dana})
			d := e.fake.Update(id, dana, adofake.AddTags("agent-smith"))
			queued := e.deliver(t, d.Header(testSecret), d.Body)
			g.Expect(queued.Body.Runs).To(HaveLen(1), "%+v", queued.Body)
			runID := queued.Body.Runs[0]

			w := tc.change(e, id)
			a := e.deliver(t, w.Header(testSecret), w.Body)
			run, err := e.store.Get(context.Background(), runID)
			g.Expect(err).NotTo(HaveOccurred())
			if tc.reason == "" {
				g.Expect(a.Status).To(Equal(http.StatusOK), "%+v", a.Body)
				g.Expect(run.State).To(Equal(runs.StateQueued))
				return
			}
			g.Expect(a.Status).To(Equal(http.StatusAccepted), "%+v", a.Body)
			g.Expect(a.Body.Outcome).To(Equal("cancelled"))
			g.Expect(a.Body.Reason).To(Equal(tc.reason + ": cancelled run " + runID))
			g.Expect(run).To(And(HaveField("State", runs.StateCancelled), HaveField("Cancel.By", "tracker acme-platform"), HaveField("Cancel.Reason", tc.reason)))
		})
	}
}
