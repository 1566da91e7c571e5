package intake

import (
	"context"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

// queuedRun labels a new shop issue and delivers the labeled event: the
// issue has one queued run.
func (e *env) queuedRun(t *testing.T) (int, string) {
	t.Helper()
	n := e.issue("agent-smith", "shop")
	a := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
	if a.Status != http.StatusAccepted || len(a.runs()) != 1 {
		t.Fatalf("labeled delivery: %s", a)
	}
	return n, a.runs()[0]
}

func (e *env) run(t *testing.T, id string) runs.Run {
	t.Helper()
	r, err := e.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestClosingTheTicketCancelsItsRunningRun(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n, id := e.queuedRun(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := e.store.Dequeue(ctx, runs.Owner{Name: "replica-a"})
	g.Expect(err).NotTo(HaveOccurred())
	defer lease.Close()
	_, err = lease.Apply(ctx, runs.EventReady, runs.Update{})
	g.Expect(err).NotTo(HaveOccurred())

	e.fake.CloseIssue("acme/shop", n)
	d := e.fake.IssuesEvent("acme/shop", n, "closed", "", alice)
	a := e.deliver(t, "/webhooks/github/shop", shopSecret, d)
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%s", a)
	g.Expect(a.Body).To(HaveKeyWithValue("outcome", "cancelled"))
	g.Expect(a.Body).To(HaveKeyWithValue("reason", "ticket closed: cancelled run "+id))
	g.Expect(a.runs()).To(Equal([]string{id}))
	r := e.run(t, id)
	g.Expect(r.State).To(Equal(runs.StateCancelled))
	g.Expect(r.Cancel).To(And(HaveField("By", "tracker shop"), HaveField("Reason", "ticket closed")))
	_, err = lease.Update(ctx, runs.Update{})
	g.Expect(err).To(MatchError(runs.ErrCancelled), "the run's owner learns it at its next write")

	again := e.deliver(t, "/webhooks/github/shop", shopSecret, d.Redelivery())
	g.Expect(again.Status).To(Equal(http.StatusOK), "%s", again)
	g.Expect(again.Body).To(HaveKeyWithValue("reason", "ticket closed: run "+id+" has ended (cancelled)"))

	e.finalized(t)
	late := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "closed", "", alice))
	g.Expect(late.Status).To(Equal(http.StatusOK), "%s", late)
	g.Expect(late.Body).To(HaveKeyWithValue("reason", "ticket closed: ticket "+itoa(n)+" has no unfinished run"))
}

func TestRemovingTheTriggerLabelCancelsItsQueuedRun(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n, id := e.queuedRun(t)

	e.fake.RemoveLabel("acme/shop", n, "agent-smith")
	d := e.fake.IssuesEvent("acme/shop", n, "unlabeled", "agent-smith", alice)
	a := e.deliver(t, "/webhooks/github/shop", shopSecret, d)
	g.Expect(a.Status).To(Equal(http.StatusAccepted), "%s", a)
	g.Expect(a.Body).To(HaveKeyWithValue("reason", "label agent-smith removed: cancelled run "+id))
	g.Expect(e.run(t, id)).To(And(HaveField("State", runs.StateCancelled),
		HaveField("Cancel.By", "tracker shop"), HaveField("Cancel.Reason", "label agent-smith removed")))
	g.Expect(e.queued(t)).To(BeEmpty())

	// Labeled again, the ticket gets a new run; the old removal, delivered
	// again, does not cancel it.
	e.finalized(t)
	e.fake.AddLabels("acme/shop", n, "agent-smith")
	again := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice))
	g.Expect(again.Status).To(Equal(http.StatusAccepted), "%s", again)
	old := e.deliver(t, "/webhooks/github/shop", shopSecret, d.Redelivery())
	g.Expect(old.Status).To(Equal(http.StatusOK), "%s", old)
	g.Expect(old.Body).To(HaveKeyWithValue("reason", "delivery "+d.ID+" was already received"))
	g.Expect(e.run(t, again.runs()[0]).State).To(Equal(runs.StateQueued))
}

// agent-smith's own lifecycle edits take agent-smith:queued off when the
// run starts; that delivery (sent by its own account) and the removal of
// a label that is not a trigger leave the run alone, and so does a
// redelivery of a removal after the run was cancelled and the ticket
// started another.
func TestOwnLifecycleEditsDoNotCancelTheRun(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	n, id := e.queuedRun(t)
	ctx := context.Background()
	tr := e.trackers["shop"]
	g.Expect(tr.SetLifecycle(ctx, itoa(n), trackers.LifecycleQueued)).To(Succeed())
	g.Expect(tr.SetLifecycle(ctx, itoa(n), trackers.LifecycleInProgress)).To(Succeed())
	issue, _ := e.fake.Issue("acme/shop", n)
	g.Expect(issue.Labels).To(ConsistOf("agent-smith", "shop", "agent-smith:in-progress"), "the lifecycle edit went through the fake")

	self, err := tr.(trackers.Self).Self(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	own := e.deliver(t, "/webhooks/github/shop", shopSecret,
		e.fake.IssuesEvent("acme/shop", n, "unlabeled", "agent-smith:queued", githubfake.User{Login: self.Name}))
	g.Expect(own.Status).To(Equal(http.StatusOK), "%s", own)
	g.Expect(own.Body).To(HaveKeyWithValue("reason", `label "agent-smith:queued" removed, not a trigger label`))

	e.fake.RemoveLabel("acme/shop", n, "shop")
	other := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "unlabeled", "shop", alice))
	g.Expect(other.Status).To(Equal(http.StatusOK), "%s", other)
	g.Expect(e.run(t, id).State).To(Equal(runs.StateQueued))
}

func TestCancelWhenOffLeavesTheRunAlone(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.cfg.Projects["shop"].Trigger().CancelWhen = config.CancelWhen{Closed: false, Unlabeled: false}
	n, id := e.queuedRun(t)

	e.fake.RemoveLabel("acme/shop", n, "agent-smith")
	unlabeled := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "unlabeled", "agent-smith", alice))
	g.Expect(unlabeled.Status).To(Equal(http.StatusOK), "%s", unlabeled)
	g.Expect(unlabeled.Body).To(HaveKeyWithValue("reason",
		"label agent-smith removed: run "+id+" goes on, projects.shop.trigger.cancel_when.unlabeled is false"))

	e.fake.CloseIssue("acme/shop", n)
	closed := e.deliver(t, "/webhooks/github/shop", shopSecret, e.fake.IssuesEvent("acme/shop", n, "closed", "", alice))
	g.Expect(closed.Status).To(Equal(http.StatusOK), "%s", closed)
	g.Expect(closed.Body).To(HaveKeyWithValue("reason", ContainSubstring("cancel_when.closed is false")))
	g.Expect(e.run(t, id).State).To(Equal(runs.StateQueued))
}
