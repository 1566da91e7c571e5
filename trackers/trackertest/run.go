package trackertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers"
)

// testSecret signs deliveries for the tracker under test; otherSecret is
// the secret of a second tracker, which must not open this one.
const (
	testSecret  = "kit-webhook-secret"
	otherSecret = "another-trackers-secret"
)

// Run runs every contract check against fresh harnesses from newHarness.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	checks := []struct {
		name string
		run  func(*testing.T, Harness)
	}{
		{"WebhookVerificationMatrix", webhookVerificationMatrix},
		{"WebhookParsing", webhookParsing},
		{"WebhookRedeliveryKeepsItsID", webhookRedeliveryKeepsItsID},
		{"WebhookClosedOrUnlabeledWithdrawsTheTicket", webhookWithdrawal},
		{"TicketReadsBack", ticketReadsBack},
		{"CandidatesListEveryPageOnceWithoutLifecycle", candidatesListEveryPageOnce},
		{"CandidatesDropTicketOnceLifecycleIsSet", candidatesDropLifecycleTickets},
		{"SetLifecycleKeepsOtherLabels", setLifecycleKeepsOtherLabels},
		{"SetLifecycleSurvivesConcurrentLabelEdit", setLifecycleSurvivesConcurrentEdit},
		{"StatusCommentIsEditedInPlace", statusCommentIsEdited},
		{"CompleteMovesToDoneStatus", completeMovesToDoneStatus},
		{"RepoHostOpensAndReusesPullRequest", repoHostOpensAndReusesPullRequest},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, newHarness(t)) })
	}
}

// build is the harness's tracker, with its own identity learned as the
// product's start-up does (connect.Warm): until then comment deliveries
// are ignored.
func build(t *testing.T, h Harness, s Setup) trackers.Tracker {
	t.Helper()
	tr := h.Tracker(t, s)
	if self, ok := tr.(trackers.Self); ok {
		if _, err := self.Self(context.Background()); err != nil {
			t.Fatalf("learn the tracker's own identity: %v", err)
		}
	}
	return tr
}

func standard(secret string) Setup {
	return Setup{WebhookSecret: secret, TriggerLabels: slices.Clone(TriggerLabels)}
}

func webhookVerificationMatrix(t *testing.T, h Harness) {
	id := h.CreateTicket(t, NewTicket{Title: "verify", Labels: []string{TriggerLabels[0]}})
	cases := []struct {
		name          string
		trackerSecret string
		signWith      string
		want          error
	}{
		{"right secret", testSecret, testSecret, nil},
		{"missing credential", testSecret, "", trackers.ErrUnauthorized},
		{"wrong secret", testSecret, "wrong-secret", trackers.ErrUnauthorized},
		{"other tracker's secret", testSecret, otherSecret, trackers.ErrUnauthorized},
		{"tracker without secret refuses a signed delivery", "", testSecret, trackers.ErrNoWebhookSecret},
		{"tracker without secret refuses an unsigned delivery", "", "", trackers.ErrNoWebhookSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := build(t, h, standard(tc.trackerSecret))
			hdr, body := h.Delivery(t, Delivery{Kind: DeliveryTriggered, TicketID: id, Label: TriggerLabels[0], Secret: tc.signWith})
			err := tr.VerifyWebhook(hdr, body)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("VerifyWebhook: %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyWebhook: %v, want an error wrapping %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), otherSecret) {
				t.Fatalf("VerifyWebhook error %q reveals a secret", err)
			}
		})
	}
}

func webhookParsing(t *testing.T, h Harness) {
	tr := build(t, h, standard(testSecret))
	id := h.CreateTicket(t, NewTicket{Title: "parse me", Body: "steps to reproduce", Labels: []string{"bug", TriggerLabels[1]}})
	cases := []struct {
		name    string
		d       Delivery
		wantErr error
		check   func(g gomega.Gomega, ev trackers.Event)
	}{
		{
			name: "trigger label added",
			d:    Delivery{Kind: DeliveryTriggered, Label: TriggerLabels[1]},
			check: func(g gomega.Gomega, ev trackers.Event) {
				g.Expect(ev.Kind).To(gomega.Equal(trackers.EventTicket))
				g.Expect(ev.Ignore).To(gomega.BeEmpty())
				g.Expect(ev.Trigger).NotTo(gomega.BeEmpty())
				g.Expect(ev.Ticket.ID).To(gomega.Equal(id))
				g.Expect(ev.Ticket.Title).To(gomega.Equal("parse me"))
				g.Expect(ev.Ticket.Labels).To(gomega.ContainElement(TriggerLabels[1]))
				g.Expect(ev.Ticket.URL).NotTo(gomega.BeEmpty())
			},
		},
		{
			name: "change that is not work",
			d:    Delivery{Kind: DeliveryNotWork},
			check: func(g gomega.Gomega, ev trackers.Event) {
				g.Expect(ev.Ignore).NotTo(gomega.BeEmpty())
			},
		},
		{
			name: "trusted comment",
			d:    Delivery{Kind: DeliveryComment, Comment: "/agent-smith fix-bug", Trusted: true},
			check: func(g gomega.Gomega, ev trackers.Event) {
				g.Expect(ev.Kind).To(gomega.Equal(trackers.EventComment))
				g.Expect(ev.Ignore).To(gomega.BeEmpty())
				g.Expect(ev.Ticket.ID).To(gomega.Equal(id))
				g.Expect(ev.Comment).NotTo(gomega.BeNil())
				g.Expect(ev.Comment.Body).To(gomega.Equal("/agent-smith fix-bug"))
				g.Expect(ev.Comment.Trusted).To(gomega.BeTrue())
			},
		},
		{
			name: "comment that may not instruct agent-smith",
			d:    Delivery{Kind: DeliveryComment, Comment: "/agent-smith fix-bug", Trusted: false},
			check: func(g gomega.Gomega, ev trackers.Event) {
				g.Expect(ev.Comment).NotTo(gomega.BeNil())
				g.Expect(ev.Comment.Trusted && !ev.Comment.Own).To(gomega.BeFalse())
			},
		},
		{name: "body that does not parse", d: Delivery{Kind: DeliveryTriggered, Label: TriggerLabels[1], Body: []byte(`{"action": "labeled", "issue": {`)}, wantErr: trackers.ErrBadPayload},
		{name: "body of the wrong shape", d: Delivery{Kind: DeliveryTriggered, Label: TriggerLabels[1], Body: []byte(`["not", "an", "object"]`)}, wantErr: trackers.ErrBadPayload},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := gomega.NewWithT(t)
			tc.d.TicketID, tc.d.Secret = id, testSecret
			hdr, body := h.Delivery(t, tc.d)
			g.Expect(tr.VerifyWebhook(hdr, body)).To(gomega.Succeed())
			ev, err := tr.ParseWebhook(hdr, body)
			if tc.wantErr != nil {
				g.Expect(err).To(gomega.MatchError(tc.wantErr))
				return
			}
			g.Expect(err).NotTo(gomega.HaveOccurred())
			g.Expect(ev.DeliveryID).NotTo(gomega.BeEmpty(), "deliveries carry the sender's id for dedup")
			g.Expect(ev.Name).NotTo(gomega.BeEmpty())
			tc.check(g, ev)
		})
	}
}

// webhookWithdrawal: closing a ticket, or taking its last trigger label
// off, withdraws it (its run is cancelled); taking off another label, a
// trigger label while another stays, or a lifecycle label agent-smith
// itself moved on does not.
func webhookWithdrawal(t *testing.T, h Harness) {
	tr := build(t, h, standard(testSecret))
	ctx := context.Background()
	cases := []struct {
		name   string
		labels []string
		d      Delivery
		// before runs on the ticket ahead of the delivery.
		before func(t *testing.T, id string)
		want   trackers.WithdrawKind
	}{
		{name: "closed", labels: []string{TriggerLabels[0]}, d: Delivery{Kind: DeliveryClosed}, want: trackers.WithdrawClosed},
		{name: "last trigger label removed", labels: []string{"bug", TriggerLabels[0]},
			d: Delivery{Kind: DeliveryUnlabeled, Label: TriggerLabels[0]}, want: trackers.WithdrawUnlabeled},
		{name: "trigger label removed, another stays", labels: TriggerLabels, d: Delivery{Kind: DeliveryUnlabeled, Label: TriggerLabels[0]}},
		{name: "other label removed", labels: []string{"bug", TriggerLabels[0]}, d: Delivery{Kind: DeliveryUnlabeled, Label: "bug"}},
		{name: "own lifecycle label moved on", labels: []string{TriggerLabels[0]},
			d: Delivery{Kind: DeliveryUnlabeled, Label: trackers.LifecycleQueued.Label()},
			before: func(t *testing.T, id string) {
				if err := tr.SetLifecycle(ctx, id, trackers.LifecycleQueued); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := gomega.NewWithT(t)
			id := h.CreateTicket(t, NewTicket{Title: "withdraw " + tc.name, Labels: tc.labels})
			if tc.before != nil {
				tc.before(t, id)
			}
			tc.d.TicketID, tc.d.Secret = id, testSecret
			hdr, body := h.Delivery(t, tc.d)
			g.Expect(tr.VerifyWebhook(hdr, body)).To(gomega.Succeed())
			ev, err := tr.ParseWebhook(hdr, body)
			g.Expect(err).NotTo(gomega.HaveOccurred())
			g.Expect(ev.Ticket.ID).To(gomega.Equal(id))
			if tc.want == "" {
				g.Expect(ev.Withdrawn).To(gomega.BeNil())
				g.Expect(ev.Trigger).To(gomega.BeEmpty())
				return
			}
			g.Expect(ev.Ignore).To(gomega.BeEmpty())
			g.Expect(ev.Trigger).To(gomega.BeEmpty())
			g.Expect(ev.Withdrawn).NotTo(gomega.BeNil())
			g.Expect(ev.Withdrawn.Kind).To(gomega.Equal(tc.want))
			if tc.want == trackers.WithdrawUnlabeled {
				g.Expect(ev.Withdrawn.Reason).To(gomega.ContainSubstring(tc.d.Label + " removed"))
			}
		})
	}
}

func webhookRedeliveryKeepsItsID(t *testing.T, h Harness) {
	g := gomega.NewWithT(t)
	tr := build(t, h, standard(testSecret))
	id := h.CreateTicket(t, NewTicket{Title: "redeliver", Labels: []string{TriggerLabels[0]}})
	d := Delivery{Kind: DeliveryTriggered, TicketID: id, Label: TriggerLabels[0], Secret: testSecret}
	hdr, body := h.Delivery(t, d)
	first, err := tr.ParseWebhook(hdr, body)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	again, err := tr.ParseWebhook(hdr.Clone(), slices.Clone(body))
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(again.DeliveryID).To(gomega.Equal(first.DeliveryID))
	hdr2, body2 := h.Delivery(t, d)
	other, err := tr.ParseWebhook(hdr2, body2)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(other.DeliveryID).NotTo(gomega.Equal(first.DeliveryID), "a new delivery has a new id")
}

func ticketReadsBack(t *testing.T, h Harness) {
	g := gomega.NewWithT(t)
	ctx := context.Background()
	tr := build(t, h, standard(testSecret))
	id := h.CreateTicket(t, NewTicket{Title: "Crash on save", Body: "It crashes.", Labels: []string{"bug", TriggerLabels[0]}})
	_, err := tr.Comment(ctx, id, "first comment")
	g.Expect(err).NotTo(gomega.HaveOccurred())

	got, err := tr.Ticket(ctx, id)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(got.ID).To(gomega.Equal(id))
	g.Expect(got.Title).To(gomega.Equal("Crash on save"))
	g.Expect(got.Body).To(gomega.Equal("It crashes."))
	g.Expect(got.URL).NotTo(gomega.BeEmpty())
	g.Expect(got.State).To(gomega.Equal(h.ReadTicket(t, id).State))
	g.Expect(got.Labels).To(gomega.ConsistOf("bug", TriggerLabels[0]))
	g.Expect(got.Comments).To(gomega.ContainElement(gomega.HaveField("Body", "first comment")))

	_, err = tr.Ticket(ctx, "987654")
	g.Expect(err).To(gomega.MatchError(trackers.ErrNotFound))
}

func candidatesListEveryPageOnce(t *testing.T, h Harness) {
	g := gomega.NewWithT(t)
	tr := build(t, h, standard(testSecret))
	var want []string
	for i := range 2*h.PageSize() + 1 {
		labels := []string{TriggerLabels[i%2]}
		if i == 0 {
			labels = slices.Clone(TriggerLabels)
		}
		want = append(want, h.CreateTicket(t, NewTicket{Title: fmt.Sprintf("candidate %d", i), Labels: labels}))
	}
	h.CreateTicket(t, NewTicket{Title: "no trigger label", Labels: []string{"bug"}})
	h.CreateTicket(t, NewTicket{Title: "handled before", Labels: []string{TriggerLabels[0], trackers.LifecycleDone.Label()}})
	h.CreateTicket(t, NewTicket{Title: "closed", Labels: []string{TriggerLabels[0]}, Closed: true})

	for poll := range 2 {
		got, err := tr.Candidates(context.Background())
		g.Expect(err).NotTo(gomega.HaveOccurred(), "poll %d", poll)
		g.Expect(ids(got)).To(gomega.ConsistOf(want), "poll %d lists every open triggered ticket exactly once", poll)
		for _, tk := range got {
			g.Expect(tk.Labels).To(gomega.ContainElement(gomega.BeElementOf(TriggerLabels)))
			g.Expect(tk.Title).To(gomega.HavePrefix("candidate "))
		}
	}
}

func candidatesDropLifecycleTickets(t *testing.T, h Harness) {
	g := gomega.NewWithT(t)
	ctx := context.Background()
	tr := build(t, h, standard(testSecret))
	a := h.CreateTicket(t, NewTicket{Title: "a", Labels: []string{TriggerLabels[0]}})
	b := h.CreateTicket(t, NewTicket{Title: "b", Labels: []string{TriggerLabels[0]}})
	got, err := tr.Candidates(ctx)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(ids(got)).To(gomega.ConsistOf(a, b))

	g.Expect(tr.SetLifecycle(ctx, a, trackers.LifecycleQueued)).To(gomega.Succeed())
	got, err = tr.Candidates(ctx)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(ids(got)).To(gomega.ConsistOf(b), "a ticket with a lifecycle label is not picked up again")
}

func setLifecycleKeepsOtherLabels(t *testing.T, h Harness) {
	tr := build(t, h, standard(testSecret))
	cases := []struct {
		name   string
		labels []string
		to     trackers.Lifecycle
		want   []string
	}{
		{"first lifecycle label", []string{"bug", "agent-smith"}, trackers.LifecycleQueued,
			[]string{"bug", "agent-smith", "agent-smith:queued"}},
		{"replaces the previous one and keeps other agent-smith labels", []string{"bug", "agent-smith:queued", "agent-smith:skip:tests"}, trackers.LifecycleInProgress,
			[]string{"bug", "agent-smith:skip:tests", "agent-smith:in-progress"}},
		{"clears several stale ones", []string{"agent-smith:in-progress", "agent-smith:failed", "ai-fix"}, trackers.LifecycleDone,
			[]string{"ai-fix", "agent-smith:done"}},
		{"setting the current one again changes nothing", []string{"agent-smith:awaiting-input", "ui"}, trackers.LifecycleAwaitingInput,
			[]string{"ui", "agent-smith:awaiting-input"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := gomega.NewWithT(t)
			id := h.CreateTicket(t, NewTicket{Title: tc.name, Labels: tc.labels})
			g.Expect(tr.SetLifecycle(context.Background(), id, tc.to)).To(gomega.Succeed())
			g.Expect(h.ReadTicket(t, id).Labels).To(gomega.ConsistOf(tc.want))
		})
	}
}

func setLifecycleSurvivesConcurrentEdit(t *testing.T, h Harness) {
	g := gomega.NewWithT(t)
	tr := build(t, h, standard(testSecret))
	id := h.CreateTicket(t, NewTicket{Title: "race", Labels: []string{"bug", "agent-smith:queued"}})
	fired := h.RaceLabelEdit(t, id, "priority:high")
	g.Expect(tr.SetLifecycle(context.Background(), id, trackers.LifecycleInProgress)).To(gomega.Succeed())
	g.Expect(fired()).To(gomega.BeTrue(), "the concurrent edit was arranged but never happened")
	g.Expect(h.ReadTicket(t, id).Labels).To(gomega.ConsistOf("bug", "priority:high", "agent-smith:in-progress"))
}

func statusCommentIsEdited(t *testing.T, h Harness) {
	g := gomega.NewWithT(t)
	ctx := context.Background()
	tr := build(t, h, standard(testSecret))
	id := h.CreateTicket(t, NewTicket{Title: "status", Labels: []string{TriggerLabels[0]}})
	cid, err := tr.Comment(ctx, id, "queued")
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(cid).NotTo(gomega.BeEmpty())
	g.Expect(h.ReadTicket(t, id).Comments).To(gomega.ConsistOf(gomega.HaveField("Body", "queued")))

	for _, body := range []string{"running: plan", "running: tests"} {
		g.Expect(tr.EditComment(ctx, id, cid, body)).To(gomega.Succeed())
		comments := h.ReadTicket(t, id).Comments
		g.Expect(comments).To(gomega.HaveLen(1), "the status comment is edited, not added to")
		g.Expect(comments[0].ID).To(gomega.Equal(cid))
		g.Expect(comments[0].Body).To(gomega.Equal(body))
	}
}

func completeMovesToDoneStatus(t *testing.T, h Harness) {
	tr := build(t, h, standard(testSecret))
	cases := append([]DoneCase{{DoneStatus: ""}}, h.DoneCases()...)
	for _, dc := range cases {
		t.Run("done status "+strconv.Quote(dc.DoneStatus), func(t *testing.T) {
			g := gomega.NewWithT(t)
			id := h.CreateTicket(t, NewTicket{Title: "finish", Labels: []string{TriggerLabels[0], "bug"}})
			before := h.ReadTicket(t, id)
			g.Expect(tr.Complete(context.Background(), id, dc.DoneStatus, "Pull requests are open.")).To(gomega.Succeed())
			after := h.ReadTicket(t, id)
			g.Expect(after.Comments).To(gomega.ContainElement(gomega.HaveField("Body", gomega.ContainSubstring("Pull requests are open."))))
			if dc.WantState != "" {
				g.Expect(after.State).To(gomega.Equal(dc.WantState))
			} else {
				g.Expect(after.State).To(gomega.Equal(before.State))
			}
			if dc.WantLabel != "" {
				g.Expect(after.Labels).To(gomega.ContainElement(dc.WantLabel))
			}
			g.Expect(after.Labels).To(gomega.ContainElements(TriggerLabels[0], "bug"), "completion keeps the ticket's labels")
		})
	}
}

func repoHostOpensAndReusesPullRequest(t *testing.T, h Harness) {
	g := gomega.NewWithT(t)
	ctx := context.Background()
	rh := h.RepoHost(t)
	if rh == nil {
		t.Skip("this tracker type hosts no code")
	}
	branch, err := rh.DefaultBranch(ctx)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(branch).To(gomega.Equal(h.DefaultBranch()))
	g.Expect(rh.CloneURL()).NotTo(gomega.BeEmpty())
	g.Expect(rh.CloneURL()).NotTo(gomega.ContainSubstring("@"), "clone URLs carry no credentials")

	h.CreateBranch(t, "agent-smith/42-fix-crash")
	pr := trackers.PullRequest{Head: "agent-smith/42-fix-crash", Base: branch, Title: "Fix crash on save",
		Body: "Fixes #42", Draft: true, TicketID: "42"}
	first, err := rh.OpenPullRequest(ctx, pr)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(first.Number).To(gomega.BeNumerically(">", 0))
	g.Expect(first.URL).NotTo(gomega.BeEmpty())
	g.Expect(first.Existing).To(gomega.BeFalse())
	held := h.PullRequest(t, first.Number)
	g.Expect(held).To(gomega.Equal(PullRequestState{Head: pr.Head, Base: pr.Base, Title: pr.Title, Body: pr.Body, Draft: true, Open: true}))

	again, err := rh.OpenPullRequest(ctx, pr)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(again).To(gomega.Equal(trackers.PullRequestRef{Number: first.Number, URL: first.URL, Existing: true}))

	g.Expect(rh.EditPullRequestBody(ctx, first.Number, "Fixes #42\n\nSibling: other/repo#7")).To(gomega.Succeed())
	g.Expect(h.PullRequest(t, first.Number).Body).To(gomega.Equal("Fixes #42\n\nSibling: other/repo#7"))
}

func ids(ts []trackers.Ticket) []string {
	out := make([]string, len(ts))
	for i, tk := range ts {
		out[i] = tk.ID
	}
	return out
}
