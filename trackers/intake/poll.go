package intake

import (
	"context"
	"fmt"

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
	// NotNew counts matches whose ticket is unchanged since its last run
	// (agent-smith could not label it, so the tracker lists it again);
	// Capped those whose ticket reached its runs per day.
	NotNew, Capped int
	// Skipped says why each unmatched, not new or capped ticket got no
	// run, for the log.
	Skipped []Skipped
}

// Skipped is a polled ticket that got no run, and why.
type Skipped struct {
	Ticket string
	// What is what happened ("matches no project", …), Reason why.
	What, Reason string
}

// Poll submits a run for every candidate ticket of tracker name and each
// project it resolves to. Polls repeat and may overlap (a deposed leader
// finishing its last poll): the store's one-run-per-ticket claim makes a
// ticket that already has a run a no-op, and its per-ticket record a
// ticket unchanged since its last run, so a ticket is picked up once per
// change of its content.
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
			res.Skipped = append(res.Skipped, Skipped{Ticket: t.ID, What: "a polled ticket with a trigger label matches no project", Reason: r.Reason})
			continue
		}
		for _, m := range r.Matches {
			sub := submission(cfg, name, t, m)
			sub.Trigger, sub.TriggerKey = trigger, "poll"
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
			case runs.OutcomeNotNew, runs.OutcomeCapped:
				if out.Outcome == runs.OutcomeNotNew {
					res.NotNew++
				} else {
					res.Capped++
				}
				res.Skipped = append(res.Skipped, Skipped{Ticket: t.ID, What: "a polled ticket gets no new run",
					Reason: m.Project + ": " + refusal(cfg, t.ID, m, out)})
			}
		}
	}
	return res, nil
}
