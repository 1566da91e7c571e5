package e2e

import (
	"context"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/jira/jirafake"
)

// TestWithdrawalCancelsTheRun: moving the issue to a status of category
// done, or taking its trigger label off, cancels its run on behalf of the
// tracker; agent-smith's own lifecycle edit does not, nor does anything
// once the project's cancel_when says no.
func TestWithdrawalCancelsTheRun(t *testing.T) {
	done := func(s *site, key string) jirafake.Delivery {
		s.fake.SetStatus(key, "Done")
		return s.fake.StatusChanged(key, "To Do", alice)
	}
	cases := []struct {
		name   string
		off    bool
		change func(s *site, key string) jirafake.Delivery
		reason string
	}{
		{name: "moved to done", reason: "ticket closed (status Done)", change: done},
		{name: "trigger label removed", reason: "label agent-smith removed", change: func(s *site, key string) jirafake.Delivery {
			s.fake.RemoveLabels(key, "agent-smith")
			return s.fake.LabelRemoved(key, "agent-smith", alice)
		}},
		{name: "own lifecycle edit", change: func(s *site, key string) jirafake.Delivery {
			ctx := context.Background()
			if err := s.tracker.SetLifecycle(ctx, key, trackers.LifecycleQueued); err != nil {
				t.Fatal(err)
			}
			if err := s.tracker.SetLifecycle(ctx, key, trackers.LifecycleInProgress); err != nil {
				t.Fatal(err)
			}
			from, to := "shop agent-smith agent-smith:queued", "shop agent-smith agent-smith:in-progress"
			return s.fake.IssueUpdated(key, agentSmith, jirafake.ChangeItem{Field: "labels", FieldType: "jira", FieldID: "labels", FromString: &from, ToString: &to})
		}},
		{name: "moved to done with cancel_when off", off: true, change: done},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			s := newSite(t)
			if tc.off {
				s.cfg.Projects["shop"].Trigger().CancelWhen = config.CancelWhen{}
			}
			key := s.fake.CreateIssue("SHOP", jirafake.NewIssue{Summary: "Checkout fails", Labels: []string{"shop", "agent-smith"}})
			queued := s.deliver(t, webhookSecret, s.fake.LabelAdded(key, "agent-smith", alice))
			g.Expect(queued.Status).To(Equal(http.StatusAccepted), "%v", queued.Body)
			id := s.queued(t)[0].ID

			a := s.deliver(t, webhookSecret, tc.change(s, key))
			run, err := s.store.Get(context.Background(), id)
			g.Expect(err).NotTo(HaveOccurred())
			if tc.reason == "" {
				g.Expect(a.Status).To(Equal(http.StatusOK), "%v", a.Body)
				g.Expect(run.State).To(Equal(runs.StateQueued))
				return
			}
			g.Expect(a.Status).To(Equal(http.StatusAccepted), "%v", a.Body)
			g.Expect(a.Body).To(And(HaveKeyWithValue("outcome", "cancelled"), HaveKeyWithValue("reason", tc.reason+": cancelled run "+id)))
			g.Expect(run).To(And(HaveField("State", runs.StateCancelled), HaveField("Cancel.By", "tracker acme"), HaveField("Cancel.Reason", tc.reason)))
		})
	}
}
