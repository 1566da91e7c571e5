package intake

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
)

// PollResult is what one poll of a tracker did.
type PollResult struct {
	// Candidates is how many tickets the tracker listed.
	Candidates int
	// Queued are the runs this poll created.
	Queued []string
	// Active counts matches whose ticket already had a run.
	Active int
	// Unmatched counts candidates no project took.
	Unmatched int
}

// Poll submits a run for every candidate ticket of tracker name and each
// project it resolves to. Polls repeat and may overlap (a deposed leader
// finishing its last poll): the store's one-run-per-ticket claim makes a
// ticket that already has a run a no-op, so a ticket is picked up once.
func Poll(ctx context.Context, cfg *config.Config, name string, p trackers.Poller, rs Runs) (PollResult, error) {
	return poll(ctx, cfg, name, p, rs, "polled with a trigger label")
}

// poll is Poll with the trigger the runs it queues record.
func poll(ctx context.Context, cfg *config.Config, name string, p trackers.Poller, rs Runs, trigger string) (PollResult, error) {
	log := logr.FromContextOrDiscard(ctx).WithValues("tracker", name)
	tickets, err := p.Candidates(ctx)
	if err != nil {
		return PollResult{}, fmt.Errorf("poll tracker %s: %w", name, err)
	}
	res := PollResult{Candidates: len(tickets)}
	for _, t := range tickets {
		r := trackers.ResolveTicket(cfg, name, t)
		if len(r.Matches) == 0 {
			res.Unmatched++
			log.V(1).Info("polled ticket matches no project", "ticket", t.ID, "reason", r.Reason)
			continue
		}
		labels := slices.DeleteFunc(slices.Clone(t.Labels), trackers.IsLifecycleLabel)
		for _, m := range r.Matches {
			sub := runs.Submission{
				Project: m.Project, Pipeline: m.Pipeline, Tracker: name, Ticket: t.ID, TicketURL: t.URL,
				TicketTitle: t.Title, Labels: labels, Repos: m.Repos,
				Trigger: trigger, DoneStatus: m.DoneStatus,
			}
			out, err := rs.Submit(ctx, sub)
			if err != nil {
				return res, fmt.Errorf("poll tracker %s: %w", name, err)
			}
			switch out.Outcome {
			case runs.OutcomeQueued:
				res.Queued = append(res.Queued, out.RunID)
				log.Info("polled ticket queued", "ticket", t.ID, "run", out.RunID, "project", m.Project)
			case runs.OutcomeTicketActive:
				res.Active++
			}
		}
	}
	return res, nil
}
