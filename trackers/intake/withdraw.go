package intake

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
)

// withdraw answers a ticket that stopped asking for work (closed, or its
// last trigger label taken off): its unfinished run is cancelled, on
// behalf of the tracker, unless the run's project turned that off
// (trigger.cancel_when). The delivery is claimed first, so a redelivery
// cannot cancel a run the ticket started since.
func (h *Handler) withdraw(ctx context.Context, snap *snapshot, d delivery) (outcome string, status int, rep reply) {
	ev, w := d.ev, d.ev.Withdrawn
	ignored := func(runID, format string, args ...any) (string, int, reply) {
		r := reply{Outcome: outcomeIgnored, Reason: w.Reason + ": " + fmt.Sprintf(format, args...)}
		if runID != "" {
			r.Runs = []string{runID}
		}
		return outcomeIgnored, http.StatusOK, r
	}
	id, err := h.runs.ActiveRun(ctx, d.tracker, ev.Ticket.ID)
	if err != nil {
		return storeFailure(err)
	}
	var run runs.Run
	if id != "" {
		run, err = h.runs.Get(ctx, id)
	}
	switch {
	case id == "", errors.Is(err, runs.ErrNotFound):
		return ignored("", "ticket %s has no unfinished run", ev.Ticket.ID)
	case err != nil:
		return storeFailure(err)
	case run.State.Terminal():
		return ignored(id, "run %s has ended (%s)", id, run.State)
	}
	if key := cancelOff(snap.cfg, run.Project, w.Kind); key != "" {
		return ignored(id, "run %s goes on, %s is false", id, key)
	}
	first, err := h.runs.ClaimDelivery(ctx, d.tracker, ev.DeliveryID, d.body)
	switch {
	case err != nil:
		return storeFailure(err)
	case !first:
		return outcomeDuplicate, http.StatusOK, reply{Outcome: outcomeIgnored, Runs: []string{id},
			Reason: "delivery " + ev.DeliveryID + " was already received"}
	}
	_, err = h.runs.Cancel(ctx, id, "tracker "+d.tracker, w.Reason)
	var ended *runs.TransitionError
	switch {
	case errors.As(err, &ended), errors.Is(err, runs.ErrNotFound):
		return ignored(id, "run %s ended meanwhile", id)
	case err != nil:
		// The sender retries a failed delivery: let the retry cancel.
		if ferr := h.runs.ForgetDelivery(context.WithoutCancel(ctx), d.tracker, ev.DeliveryID, d.body); ferr != nil {
			h.logger(ctx).Error(ferr, "forgetting a failed delivery failed; its retry will be ignored", "delivery", ev.DeliveryID)
		}
		return storeFailure(err)
	}
	h.logger(ctx).Info("run cancelled by its ticket", "run", id, "reason", w.Reason)
	return outcomeCancelled, http.StatusAccepted, reply{Outcome: outcomeCancelled, Runs: []string{id},
		Reason: fmt.Sprintf("%s: cancelled run %s", w.Reason, id)}
}

// cancelOff is the key that turned cancelling off for kind in project
// ("projects.web.trigger.cancel_when.closed"), or "" when it is on. A
// project no longer configured keeps the default: on.
func cancelOff(cfg *config.Config, project string, kind trackers.WithdrawKind) string {
	p := cfg.Projects[project]
	if p == nil || p.Trigger() == nil {
		return ""
	}
	on := map[trackers.WithdrawKind]bool{trackers.WithdrawClosed: p.Trigger().CancelWhen.Closed,
		trackers.WithdrawUnlabeled: p.Trigger().CancelWhen.Unlabeled}[kind]
	if on {
		return ""
	}
	return fmt.Sprintf("projects.%s.trigger.cancel_when.%s", project, kind)
}
