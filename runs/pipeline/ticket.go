package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	// Every write goes through the lease's guard: an owner that lost the
	// run writes nothing more to its ticket; the comments it posts are
	// remembered as its own.
	j.tracker = guardTracker(ownComments{Tracker: tr, store: j.p.deps.Store, log: j.log}, j.lease)
	t, err := tr.Ticket(ctx, j.run.Ticket)
	if err != nil {
		return fmt.Errorf("read ticket %s: %w", j.run.Ticket, err)
	}
	j.ticket = t
	if t.URL != j.run.TicketURL || t.Title != j.run.TicketTitle {
		if _, err := j.lease.Update(ctx, runs.Update{TicketURL: t.URL, TicketTitle: t.Title}); err != nil {
			return err
		}
		j.run.TicketURL, j.run.TicketTitle = t.URL, t.Title
	}
	if err := j.openStatus(ctx); err != nil {
		return err
	}
	if err := j.tracker.SetLifecycle(ctx, j.run.Ticket, trackers.LifecycleInProgress); err != nil {
		if j.abandoned(ctx, err) {
			return err
		}
		j.note(ctx, "could not set the lifecycle label: %v", err)
		j.log.Error(err, "setting the in-progress label failed")
	}
	return nil
}

// openStatus makes sure the run has its status comment, one whatever
// happened before: the one recorded on the run, else one of agent-smith's
// own comments carrying the run's status mark (its id was lost with
// Redis's last second), else a new one.
func (j *job) openStatus(ctx context.Context) error {
	body := renderStatus(j.statusView(nil))
	id, err := ensureComment(ctx, j.tracker, j.ticket, j.run.StatusCommentID, statusMarker(j.run.ID), body)
	if err != nil {
		if j.abandoned(ctx, err) {
			return err
		}
		// The run goes on without a status comment; its progress is
		// still in the event stream.
		j.note(ctx, "could not comment on the ticket: %v", err)
		j.log.Error(err, "opening the status comment failed")
		return nil
	}
	if id == j.run.StatusCommentID {
		return nil
	}
	j.run.StatusCommentID = id
	_, err = j.lease.Update(ctx, runs.Update{StatusCommentID: id})
	return err
}

// ensureComment makes sure the ticket has the comment mark starts with
// body: it edits the comment recorded (recorded, when the tracker still
// has it) or agent-smith's own comment with the mark, and posts a new one
// only when neither exists. It returns the comment's id.
func ensureComment(ctx context.Context, tr trackers.Tracker, t trackers.Ticket, recorded, mark, body string) (string, error) {
	id := ownComment(t, recorded, mark)
	if id != "" {
		err := tr.EditComment(ctx, t.ID, id, body)
		if !errors.Is(err, trackers.ErrNotFound) {
			return id, err
		}
		// Someone deleted it: post another.
	}
	return tr.Comment(ctx, t.ID, body)
}

// ownComment finds a comment of the ticket: the one with id recorded, else
// agent-smith's own (Own) comment whose body starts with mark. A
// stranger's comment with the mark is never taken: at most it is ignored.
func ownComment(t trackers.Ticket, recorded, mark string) string {
	for _, c := range t.Comments {
		if recorded != "" && c.ID == recorded {
			return c.ID
		}
	}
	for _, c := range t.Comments {
		if c.Own && strings.HasPrefix(strings.TrimLeft(c.Body, " \t\r\n"), mark) {
			return c.ID
		}
	}
	if len(t.Comments) == 0 {
		// The ticket was not read with its comments: trust the record.
		return recorded
	}
	return ""
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

// finalize ends the run as succeeded, with what it did recorded; the
// finalizer then comments the summary, moves the ticket to its done
// status and marks it done.
func (j *job) finalize(ctx context.Context) error {
	j.release(ctx)
	if !j.published {
		// A plan with nothing to do never reached the push step.
		if _, err := j.lease.Apply(ctx, runs.EventPublish, runs.Update{}); err != nil {
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
	j.steps[j.current].State = stepDone
	j.steps[j.current].Took = j.p.deps.Now().Sub(j.steps[j.current].Started)
	o := outcome{State: runs.StateSucceeded}
	j.keepArtifacts(ctx, o)
	j.p.models.forget(j.run.ID)
	ro := j.runOutcome(o)
	ro.Summary, ro.DoneStatus, ro.NothingToDo = j.scrub(summary), done, j.nothingToDo
	_, err := j.lease.Apply(ctx, runs.EventSucceed, runs.Update{AddUsage: j.usageDelta(), Steps: j.stepRecords(), Outcome: ro})
	return err
}
