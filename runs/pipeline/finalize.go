package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
)

// actionKind is what a finalAction does to the ticket.
type actionKind string

const (
	actEdit      actionKind = "edit"
	actPost      actionKind = "post"
	actComplete  actionKind = "complete"
	actLifecycle actionKind = "lifecycle"
)

// finalAction is one write the finalizer makes to a ticket.
type finalAction struct {
	kind actionKind
	// what names the write for logs and the notes of a write given up on
	// ("set the lifecycle label").
	what      string
	commentID string
	body      string
	done      string
	lifecycle trackers.Lifecycle
	// record says which of the run's fields keeps a posted comment's id.
	record recordField
}

type recordField int

const (
	recordNone recordField = iota
	recordStatus
	recordFinal
)

// The writes of a finalizer, by what; each is given up on alone.
const (
	whatStatus    = "update the status comment"
	whatComment   = "post the comment on how the run ended"
	whatDone      = "move the ticket to its done status"
	whatLifecycle = "set the lifecycle label"
)

// finalActions decides which writes are still missing for the ticket t to
// show how run ended: the status comment in its final form (edited, or
// posted when the run had started and its comment is gone), one comment
// on the end (failed, done or cancelled; found by its recorded id or as
// agent-smith's own comment with the run's mark), the done status of a
// successful run, and the lifecycle label. The comment on the end is a
// notice that adds to the status comment (endingNotice), or the whole
// story on a ticket without one; a notice posted before the status write
// was given up on is made whole. It is pure: the finalizer reads the
// ticket, acts, and asks again until nothing is missing, so a write that
// landed late (a cancelled write of the old owner) is corrected, and a
// second finalizer after a crash writes nothing twice. skipped are the
// writes given up on (by what), noted in the status comment.
func finalActions(run runs.Run, t trackers.Ticket, skipped map[string]string) []finalAction {
	var out []finalAction
	add := func(a finalAction) {
		if _, gaveUp := skipped[a.what]; !gaveUp {
			out = append(out, a)
		}
	}
	notes := slices.Sorted(maps.Values(skipped))
	status := renderStatus(statusViewOf(run, notes))
	id := findComment(t, run.StatusCommentID, statusMarker(run.ID))
	switch {
	case id == "" && len(run.Steps) > 0:
		add(finalAction{kind: actPost, what: whatStatus, body: status, record: recordStatus})
	case id != "" && !showsFinal(commentBody(t, id), run, notes):
		add(finalAction{kind: actEdit, what: whatStatus, commentID: id, body: status})
	}
	_, statusGivenUp := skipped[whatStatus]
	hasStatus := (id != "" || len(run.Steps) > 0) && !statusGivenUp
	ending := endingComment(run, hasStatus)
	final := findComment(t, run.FinalCommentID, finalMark(run.State, run.ID)+" -->")
	commented := final != ""
	if commented && !hasStatus && !strings.Contains(commentBody(t, final), wholeHeads[run.State]) {
		add(finalAction{kind: actEdit, what: whatComment, commentID: final, body: ending})
	}
	if !commented {
		add(finalAction{kind: actPost, what: whatComment, body: ending, record: recordFinal})
	}
	// The move to the done status carries no comment: a comment a tracker
	// writes with its state change (Azure DevOps' History field) loses the
	// mark it is found by, and the next round would post it again.
	if done := run.Outcome.DoneStatus; run.State == runs.StateSucceeded && done != "" &&
		!strings.EqualFold(t.State, done) && !hasLabel(t.Labels, done) {
		add(finalAction{kind: actComplete, what: whatDone, done: done})
	}
	want := lifecycleOf(run.State)
	if !hasLabel(t.Labels, want.Label()) || slices.ContainsFunc(t.Labels, func(l string) bool {
		return trackers.IsLifecycleLabel(l) && !strings.EqualFold(l, want.Label())
	}) {
		add(finalAction{kind: actLifecycle, what: whatLifecycle, lifecycle: want})
	}
	return out
}

// endingComment is the comment on how run ended: a notice when the ticket
// has its status comment, else the whole story.
func endingComment(run runs.Run, hasStatus bool) string {
	if hasStatus {
		return endingNotice(run)
	}
	o := outcomeOf(run)
	switch run.State {
	case runs.StateSucceeded:
		var repos []repoResult
		for _, r := range run.Outcome.Repos {
			repos = append(repos, repoResult(r))
		}
		return finalComment(run.ID, run.Outcome.Summary, repos, run.Usage)
	case runs.StateCancelled:
		return cancelledComment(run.ID, o.Reason)
	}
	return failureComment(run.ID, o.Step, o.Reason, o.WIP)
}

func lifecycleOf(st runs.State) trackers.Lifecycle {
	switch st {
	case runs.StateSucceeded:
		return trackers.LifecycleDone
	case runs.StateCancelled:
		return trackers.LifecycleCancelled
	}
	return trackers.LifecycleFailed
}

// outcomeOf is how the run ended as the comments tell it; a run ended by
// anyone but its pipeline (the sandbox reconciler, reclaim giving up) has
// only its step and error, a cancelled one the reason of its cancel
// ("ticket closed").
func outcomeOf(run runs.Run) outcome {
	o := outcome{State: run.State, Step: run.Outcome.Step, Reason: run.Outcome.Reason, WIP: run.Outcome.WIP, Kind: run.Outcome.Kind}
	if o.Step == "" {
		o.Step = run.Step
	}
	if o.Reason == "" {
		o.Reason = run.Error
	}
	if o.Reason == "" && run.State == runs.StateCancelled {
		o.Reason = run.Cancel.Reason
	}
	return o
}

// statusViewOf is the final status comment of an ended run, from the run
// alone.
func statusViewOf(run runs.Run, skipped []string) statusView {
	o := outcomeOf(run)
	v := statusView{RunID: run.ID, Pipeline: run.Pipeline, Attempt: run.Attempt, Outcome: &o,
		Skills: run.Outcome.Skills, Usage: run.Usage, Skipped: skipped}
	for _, r := range run.Outcome.Repos {
		v.Repos = append(v.Repos, repoResult(r))
	}
	for _, s := range run.Steps {
		rec := stepRecord{Name: s.Name, State: stepState(s.State), Took: time.Duration(s.TookMS) * time.Millisecond, Notes: s.Notes}
		if rec.State == stepRunning || run.State == runs.StateFailed && rec.Name == o.Step && rec.State == stepPending {
			// The step the run ended in.
			rec.State = map[runs.State]stepState{runs.StateFailed: stepFailed, runs.StateCancelled: stepSkipped}[run.State]
			if rec.State == "" {
				rec.State = stepDone
			}
		}
		v.Steps = append(v.Steps, rec)
	}
	return v
}

// showsFinal reports whether a status comment's body already tells the
// run's end (and the finalizer's notes). It compares words rather than the
// whole body, which a tracker may have reformatted.
func showsFinal(body string, run runs.Run, notes []string) bool {
	head := renderStatus(statusViewOf(run, nil))
	_, head, _ = strings.Cut(head, "### ")
	head, _, _ = strings.Cut(head, "\n")
	head, _, _ = strings.Cut(head, "`") // the step name may be formatted
	if !strings.Contains(body, strings.TrimSpace(head)) || strings.Contains(body, "is working on this") {
		return false
	}
	for _, n := range notes {
		if !strings.Contains(body, n) {
			return false
		}
	}
	return true
}

// findComment is the id of the comment recorded, when the ticket has it,
// else of agent-smith's own comment starting with mark, else "".
func findComment(t trackers.Ticket, recorded, mark string) string {
	if id := ownComment(t, recorded, mark); id != "" && slices.ContainsFunc(t.Comments, func(c trackers.Comment) bool { return c.ID == id }) {
		return id
	}
	return ""
}

func commentBody(t trackers.Ticket, id string) string {
	for _, c := range t.Comments {
		if c.ID == id {
			return c.Body
		}
	}
	return ""
}

func hasLabel(labels []string, want string) bool {
	return slices.ContainsFunc(labels, func(l string) bool { return strings.EqualFold(l, want) })
}

// maxFinalRounds bounds the read-decide-act rounds of one Finalize, and
// triesPerWrite the tries of a write the tracker keeps refusing.
const (
	maxFinalRounds = 6
	triesPerWrite  = 3
)

// Finalize brings the ticket of run, which ended, to its final state
// (worker.TicketFinalizer): the status comment finished, one comment on
// how it ended, the done status of a successful run, the lifecycle label.
// It reads the ticket, writes what finalActions says is missing, and reads
// again. A write the tracker keeps refusing is given up on after three
// tries and named in the returned notes (and the status comment); an error
// the tracker may get over (the network, a timeout) is returned for the
// caller to try again later. The writes are unfenced: the run's owner has
// stopped by the time the finalizer runs.
func (p *Pipeline) Finalize(ctx context.Context, run runs.Run) ([]string, error) {
	cfg := p.deps.Config()
	tr, err := p.deps.Tracker(cfg, run.Tracker)
	if err != nil {
		return []string{fmt.Sprintf("the ticket was not told: tracker %s: %v", run.Tracker, err)}, nil
	}
	skipped := map[string]string{}
	tries := map[string]int{}
	for range maxFinalRounds {
		t, err := tr.Ticket(ctx, run.Ticket)
		switch {
		case errors.Is(err, trackers.ErrNotFound):
			return []string{fmt.Sprintf("the ticket was not told: it is gone (%v)", err)}, nil
		case err != nil:
			return nil, fmt.Errorf("read ticket %s: %w", run.Ticket, err)
		}
		actions := finalActions(run, t, skipped)
		if len(actions) == 0 {
			break
		}
		for _, a := range actions {
			err := p.perform(ctx, tr, &run, a)
			switch {
			case err == nil:
			case transient(err) || ctx.Err() != nil:
				return nil, fmt.Errorf("%s: %w", a.what, err)
			default:
				if tries[a.what]++; tries[a.what] >= triesPerWrite {
					skipped[a.what] = fmt.Sprintf("could not %s: %s", a.what, clip(err.Error()))
				}
			}
		}
	}
	return slices.Sorted(maps.Values(skipped)), nil
}

// perform makes one write and records a posted comment's id on the run.
func (p *Pipeline) perform(ctx context.Context, tr trackers.Tracker, run *runs.Run, a finalAction) error {
	switch a.kind {
	case actEdit:
		return tr.EditComment(ctx, run.Ticket, a.commentID, a.body)
	case actComplete:
		return tr.Complete(ctx, run.Ticket, a.done, "")
	case actLifecycle:
		return tr.SetLifecycle(ctx, run.Ticket, a.lifecycle)
	}
	id, err := tr.Comment(ctx, run.Ticket, a.body)
	if err != nil {
		return err
	}
	u := runs.Update{}
	switch a.record {
	case recordStatus:
		run.StatusCommentID, u.StatusCommentID = id, id
	case recordFinal:
		run.FinalCommentID, u.FinalCommentID = id, id
	}
	if _, err := p.deps.Store.Update(ctx, run.ID, u); err != nil && !errors.Is(err, runs.ErrNotFound) {
		// The comment stands; the next round finds it by its mark.
		return fmt.Errorf("record comment %s: %w", id, err)
	}
	return nil
}

// transient reports an error the tracker may get over by itself: the
// request failed on the way (connection, timeout). The tracker clients
// already retried what the tracker answered with 5xx or 429.
func transient(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded)
}

func clip(s string) string {
	if len(s) > 300 {
		return strings.ToValidUTF8(s[:300], "") + " …"
	}
	return s
}
