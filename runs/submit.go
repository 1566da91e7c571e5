package runs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Submission is a ticket that should become a run.
type Submission struct {
	// DeliveryID is the tracker's webhook delivery id (X-GitHub-Delivery,
	// GitLab's Idempotency-Key, …); empty for polling, which skips dedup.
	DeliveryID  string
	Project     string
	Pipeline    string
	Tracker     string
	Ticket      string
	TicketURL   string
	TicketTitle string
	Labels      []string
	Repos       []string
	// Trigger, TriggerComment and DoneStatus become the run's fields of
	// the same names.
	Trigger        string
	TriggerComment string
	DoneStatus     string
	// RunID submits the run under this id instead of a new one: a run
	// Redis lost (its last second) while an owner worked on it comes back
	// as itself, so the comments it already made are found by its marks.
	RunID string

	// TriggerKey and TriggerSeq place the trigger in the ticket's history
	// (trackers.Event.Mark): a trigger whose Seq is older than one already
	// seen for the ticket, or the same Seq and Key again, is not new. A
	// zero TriggerSeq (polling) leaves it to Digest.
	TriggerKey string
	TriggerSeq int64
	// Digest is the ticket's content (trackers.ContentDigest): without a
	// TriggerSeq, a ticket whose last run saw the same content is not new.
	// Empty: every such submission is new.
	Digest string
	// BodyDigest is the hex SHA-256 of the webhook delivery's body. The
	// sender's delivery id is not signed (GitHub, Jira), so a replay with
	// a fresh id is recognised by its body; empty for polling.
	BodyDigest string
	// MaxPerDay caps the runs a ticket may start within the store's
	// TicketWindow (limits.max_runs_per_ticket_per_day); 0 means no cap.
	MaxPerDay int
}

// Resubmission is the submission that brings back run, which Redis lost
// while its owner worked on it: the same id, ticket and trigger.
func (r Run) Resubmission() Submission {
	return Submission{Project: r.Project, Pipeline: r.Pipeline, Tracker: r.Tracker, Ticket: r.Ticket,
		TicketURL: r.TicketURL, TicketTitle: r.TicketTitle, Labels: r.Labels, Repos: r.Repos,
		Trigger: r.Trigger, TriggerComment: r.TriggerComment, DoneStatus: r.DoneStatus, RunID: r.ID}
}

func (sub Submission) validate() error {
	var errs []error
	for _, f := range []struct{ name, value string }{
		{"project", sub.Project}, {"pipeline", sub.Pipeline},
		{"tracker", sub.Tracker}, {"ticket", sub.Ticket},
	} {
		if strings.TrimSpace(f.value) == "" {
			errs = append(errs, fmt.Errorf("%s is empty", f.name))
		}
	}
	if len(sub.Repos) == 0 {
		errs = append(errs, errors.New("no repositories"))
	}
	for _, r := range sub.Repos {
		if r == "" || strings.ContainsAny(r, ": \t\n") {
			errs = append(errs, fmt.Errorf("repository name %q is empty or holds ':' or whitespace", r))
		}
	}
	return errors.Join(errs...)
}

// Outcome is what Submit did.
type Outcome string

// The outcomes of Submit.
const (
	// OutcomeQueued: a new run was created and queued.
	OutcomeQueued Outcome = "queued"
	// OutcomeDuplicateDelivery: the delivery id was seen before; RunID is the
	// run it led to.
	OutcomeDuplicateDelivery Outcome = "duplicate_delivery"
	// OutcomeTicketActive: the ticket already has an unfinished run, RunID.
	OutcomeTicketActive Outcome = "ticket_active"
	// OutcomeNotNew: the trigger was acted on before (its Mark is not
	// newer than one seen, or the ticket is unchanged since its last
	// run); RunID is that last run, LastState how it ended.
	OutcomeNotNew Outcome = "not_new"
	// OutcomeCapped: the ticket started MaxPerDay runs within the window;
	// Count says how many, and RetryAt when the oldest leaves it. The
	// trigger is not used up: the same one is taken after RetryAt.
	OutcomeCapped Outcome = "capped"
)

// SubmitResult is the outcome of Submit and the run it concerns.
type SubmitResult struct {
	Outcome Outcome
	RunID   string
	// LastState is the state of RunID for OutcomeNotNew ("" when the
	// record has none).
	LastState State
	// RetryAt and Count are set for OutcomeCapped.
	RetryAt time.Time
	Count   int
}

// Submit turns a ticket into a queued run, unless its delivery was seen
// before or the ticket already has an unfinished run. Dedup, claim, creation
// and enqueue happen in one script: either all of them or none.
func (s *Store) Submit(ctx context.Context, sub Submission) (SubmitResult, error) {
	if err := sub.validate(); err != nil {
		return SubmitResult{}, fmt.Errorf("submit ticket %s: %w", sub.Ticket, err)
	}
	// A random suffix collides rarely within one second; the script refuses
	// an id already in use and a new one is drawn.
	for range 5 {
		id := sub.RunID
		if id == "" {
			id = s.newID(time.Now())
		}
		fields, err := submissionFields(id, sub)
		if err != nil {
			return SubmitResult{}, fmt.Errorf("submit ticket %s: %w", sub.Ticket, err)
		}
		reply, err := s.run(ctx, submitScript, s.submitKeys(id, sub), append(s.submitArgs(id, sub), fields...)...).Result()
		if err != nil {
			return SubmitResult{}, fmt.Errorf("submit ticket %s: %w", sub.Ticket, err)
		}
		st, rest, err := status(reply)
		if err != nil {
			return SubmitResult{}, fmt.Errorf("submit ticket %s: %w", sub.Ticket, err)
		}
		if st == "collision" {
			if sub.RunID != "" {
				// The run is back already (or was never lost).
				return SubmitResult{Outcome: OutcomeTicketActive, RunID: sub.RunID}, nil
			}
			continue
		}
		res, err := submitResult(st, rest)
		if err != nil {
			return SubmitResult{}, fmt.Errorf("submit ticket %s: %w", sub.Ticket, err)
		}
		if res.Outcome == OutcomeQueued {
			run, err := hashReply(rest, 1)
			if err != nil {
				return SubmitResult{}, fmt.Errorf("submit ticket %s: %w", sub.Ticket, err)
			}
			s.recorded(ctx, run, EventSubmit, "")
		}
		s.log(ctx).V(1).Info("submitted", "ticket", sub.Ticket, "run", res.RunID, "outcome", res.Outcome)
		return res, nil
	}
	return SubmitResult{}, fmt.Errorf("submit ticket %s: no free run id after 5 tries", sub.Ticket)
}

func (s *Store) submitKeys(id string, sub Submission) []string {
	return []string{s.runKey(id), s.ticketKey(sub.Tracker, sub.Ticket),
		s.ticketRecordKey(sub.Tracker, sub.Ticket), s.ticketRunsKey(sub.Tracker, sub.Ticket)}
}

// submitArgs are submit.lua's arguments before the run's fields.
func (s *Store) submitArgs(id string, sub Submission) []any {
	delivery, body := "", ""
	if sub.DeliveryID != "" {
		delivery = s.deliveryKey(sub.Tracker, sub.DeliveryID)
	}
	if sub.BodyDigest != "" {
		body = s.bodyKey(sub.Tracker, sub.BodyDigest)
	}
	return []any{id, delivery, body, ms(s.opts.DeliveryTTL),
		sub.TriggerKey, strconv.FormatInt(max(sub.TriggerSeq, 0), 10), sub.Digest,
		strconv.Itoa(max(sub.MaxPerDay, 0)), ms(s.opts.TicketWindow), ms(s.recordTTL())}
}

// submitResult reads submit.lua's reply other than "collision".
func submitResult(st string, rest []any) (SubmitResult, error) {
	switch st {
	case "duplicate":
		return SubmitResult{Outcome: OutcomeDuplicateDelivery, RunID: str(rest, 0)}, nil
	case "active":
		return SubmitResult{Outcome: OutcomeTicketActive, RunID: str(rest, 0)}, nil
	case "not_new":
		return SubmitResult{Outcome: OutcomeNotNew, RunID: str(rest, 0), LastState: State(str(rest, 1))}, nil
	case "capped":
		at, err := strconv.ParseInt(str(rest, 0), 10, 64)
		if err != nil {
			return SubmitResult{}, fmt.Errorf("capped reply: %w", err)
		}
		var n int64
		if len(rest) > 1 {
			n, _ = rest[1].(int64)
		}
		return SubmitResult{Outcome: OutcomeCapped, RetryAt: time.UnixMilli(at).UTC(), Count: int(n)}, nil
	case "queued":
		return SubmitResult{Outcome: OutcomeQueued, RunID: str(rest, 0)}, nil
	}
	return SubmitResult{}, fmt.Errorf("unexpected script status %q", st)
}

// str is element i of a script reply as a string ("" when absent or nil).
func str(reply []any, i int) string {
	if i >= len(reply) {
		return ""
	}
	s, _ := reply[i].(string)
	return s
}

// ClaimDelivery records a webhook delivery that is not a submission (an
// answer resuming a parked run) by its id and its body's digest (either
// may be empty) and reports whether it is new: a redelivery, or a replay
// of the body under another id, gets false. Submit records its own
// deliveries.
func (s *Store) ClaimDelivery(ctx context.Context, tracker, delivery, bodyDigest string) (bool, error) {
	keys := s.deliveryKeys(tracker, delivery, bodyDigest)
	if len(keys) == 0 {
		return true, nil
	}
	n, err := s.run(ctx, claimScript, keys, ms(s.opts.DeliveryTTL)).Int()
	if err != nil {
		return false, fmt.Errorf("record delivery %s: %w", delivery, err)
	}
	return n == 1, nil
}

// ForgetDelivery drops a delivery ClaimDelivery recorded, when acting on it
// failed and the sender's retry must get through.
func (s *Store) ForgetDelivery(ctx context.Context, tracker, delivery, bodyDigest string) error {
	keys := s.deliveryKeys(tracker, delivery, bodyDigest)
	if len(keys) == 0 {
		return nil
	}
	if err := s.rdb.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("forget delivery %s: %w", delivery, err)
	}
	return nil
}

func (s *Store) deliveryKeys(tracker, delivery, bodyDigest string) []string {
	var keys []string
	if delivery != "" {
		keys = append(keys, s.deliveryKey(tracker, delivery))
	}
	if bodyDigest != "" {
		keys = append(keys, s.bodyKey(tracker, bodyDigest))
	}
	return keys
}
