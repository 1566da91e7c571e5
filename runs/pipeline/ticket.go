package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
)

// fetchTicket reads the ticket, opens (or, on a later attempt, takes over)
// the status comment and marks the ticket in progress.
func (j *job) fetchTicket(ctx context.Context) error {
	if j.project == nil {
		return fmt.Errorf("project %s is no longer in the configuration", j.run.Project)
	}
	tr, err := j.p.deps.Tracker(j.cfg, j.run.Tracker)
	if err != nil {
		return fmt.Errorf("tracker %s: %w", j.run.Tracker, err)
	}
	j.tracker = ownComments{Tracker: tr, store: j.p.deps.Store, log: j.log}
	t, err := tr.Ticket(ctx, j.run.Ticket)
	if err != nil {
		return fmt.Errorf("read ticket %s: %w", j.run.Ticket, err)
	}
	j.ticket = t
	if t.URL != j.run.TicketURL || t.Title != j.run.TicketTitle {
		if _, err := j.p.deps.Store.Update(ctx, j.run.ID, runs.Update{Attempt: j.run.Attempt, TicketURL: t.URL, TicketTitle: t.Title}); err != nil {
			return err
		}
		j.run.TicketURL, j.run.TicketTitle = t.URL, t.Title
	}
	if err := j.openStatus(ctx); err != nil {
		return err
	}
	if err := tr.SetLifecycle(ctx, j.run.Ticket, trackers.LifecycleInProgress); err != nil {
		j.note(ctx, "could not set the lifecycle label: %v", err)
		j.log.Error(err, "setting the in-progress label failed")
	}
	return nil
}

// openStatus makes sure the run has its status comment: the one an
// earlier attempt opened (recorded on the run), else a new one.
func (j *job) openStatus(ctx context.Context) error {
	body := renderStatus(j.statusView(nil))
	if id := j.run.StatusCommentID; id != "" {
		err := j.tracker.EditComment(ctx, j.run.Ticket, id, body)
		if err == nil {
			return nil
		}
		if !errors.Is(err, trackers.ErrNotFound) {
			j.log.Error(err, "editing the status comment failed")
			return nil
		}
		// Someone deleted it: open another.
	}
	id, err := j.tracker.Comment(ctx, j.run.Ticket, body)
	if err != nil {
		// The run goes on without a status comment; its progress is
		// still in the event stream.
		j.note(ctx, "could not comment on the ticket: %v", err)
		j.log.Error(err, "opening the status comment failed")
		return nil
	}
	j.run.StatusCommentID = id
	_, err = j.p.deps.Store.Update(ctx, j.run.ID, runs.Update{Attempt: j.run.Attempt, StatusCommentID: id})
	return err
}

func (j *job) statusView(o *outcome) statusView {
	v := statusView{RunID: j.run.ID, Pipeline: j.run.Pipeline, Attempt: j.run.Attempt, Steps: j.steps, Outcome: o, Repos: j.results()}
	if j.catalog != nil {
		v.Skills = j.catalog.String()
	}
	r := j.budget.Report()
	v.Usage = runs.Usage{
		InputTokens:  j.run.Usage.InputTokens + int64(r.Usage.InputTokens),
		OutputTokens: j.run.Usage.OutputTokens + int64(r.Usage.OutputTokens),
		CostUSD:      j.run.Usage.CostUSD + r.CostUSD,
	}
	return v
}

// editStatus brings the status comment up to date; a failure is logged,
// never fatal.
func (j *job) editStatus(ctx context.Context) {
	j.editStatusBody(ctx, renderStatus(j.statusView(nil)))
}

func (j *job) editStatusFinal(ctx context.Context, o outcome) {
	j.editStatusBody(ctx, renderStatus(j.statusView(&o)))
}

func (j *job) editStatusBody(ctx context.Context, body string) {
	if j.tracker == nil || j.run.StatusCommentID == "" {
		return
	}
	if err := j.tracker.EditComment(ctx, j.run.Ticket, j.run.StatusCommentID, body); err != nil && ctx.Err() == nil {
		j.log.Error(err, "editing the status comment failed")
	}
}

// doneStatus is where the ticket goes when the run succeeds: the matched
// trigger's done_status as intake recorded it, else the project's.
func (j *job) doneStatus() string {
	if s := j.run.DoneStatus; s != "" {
		return s
	}
	if t := j.project.Trigger(); t != nil {
		return t.DoneStatus
	}
	return ""
}

// finalize tells the ticket what happened and ends the run. Pushed work
// stays pushed whatever the tracker answers: its failures are recorded,
// not fatal.
func (j *job) finalize(ctx context.Context) error {
	j.release(ctx)
	if !j.published {
		// A plan with nothing to do never reached the push step.
		if _, err := j.p.deps.Store.Apply(ctx, j.run.ID, runs.EventPublish, runs.Update{Attempt: j.run.Attempt}); err != nil {
			return err
		}
		j.published = true
	}
	done := j.doneStatus()
	if j.nothingToDo {
		// Nothing was changed, so the ticket is not moved on.
		done = ""
	}
	summary := j.summary
	if j.nothingToDo && j.plan != nil {
		summary = "Nothing to change: " + j.plan.Summary
	}
	usage := j.statusView(nil).Usage
	if err := j.tracker.Complete(ctx, j.run.Ticket, done, finalComment(j.run.ID, j.scrub(summary), j.results(), usage)); err != nil {
		j.note(ctx, "completing the ticket failed (the pushed work stays): %v", err)
	}
	j.steps[j.current].State = stepDone
	j.steps[j.current].Took = j.p.deps.Now().Sub(j.steps[j.current].Started)
	o := outcome{State: runs.StateSucceeded}
	j.editStatusFinal(ctx, o)
	if err := j.tracker.SetLifecycle(ctx, j.run.Ticket, trackers.LifecycleDone); err != nil {
		j.progress(ctx, "setting the done label failed: %v", err)
	}
	j.keepArtifacts(ctx, o)
	j.p.models.forget(j.run.ID)
	_, err := j.p.deps.Store.Apply(ctx, j.run.ID, runs.EventSucceed, runs.Update{Attempt: j.run.Attempt, AddUsage: j.usageDelta()})
	return err
}
