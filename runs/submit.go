package runs

import (
	"context"
	"errors"
	"fmt"
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
)

// SubmitResult is the outcome of Submit and the run it concerns.
type SubmitResult struct {
	Outcome Outcome
	RunID   string
}

// Submit turns a ticket into a queued run, unless its delivery was seen
// before or the ticket already has an unfinished run. Dedup, claim, creation
// and enqueue happen in one script: either all of them or none.
func (s *Store) Submit(ctx context.Context, sub Submission) (SubmitResult, error) {
	if err := sub.validate(); err != nil {
		return SubmitResult{}, fmt.Errorf("submit ticket %s: %w", sub.Ticket, err)
	}
	delivery := ""
	if sub.DeliveryID != "" {
		delivery = s.deliveryKey(sub.Tracker, sub.DeliveryID)
	}
	// A random suffix collides rarely within one second; the script refuses
	// an id already in use and a new one is drawn.
	for range 5 {
		id := s.newID(time.Now())
		fields, err := submissionFields(id, sub)
		if err != nil {
			return SubmitResult{}, fmt.Errorf("submit ticket %s: %w", sub.Ticket, err)
		}
		args := append([]any{id, delivery, ms(s.opts.DeliveryTTL)}, fields...)
		keys := []string{s.runKey(id), s.ticketKey(sub.Tracker, sub.Ticket)}
		reply, err := s.run(ctx, submitScript, keys, args...).Result()
		if err != nil {
			return SubmitResult{}, fmt.Errorf("submit ticket %s: %w", sub.Ticket, err)
		}
		st, rest, err := status(reply)
		if err != nil {
			return SubmitResult{}, fmt.Errorf("submit ticket %s: %w", sub.Ticket, err)
		}
		var res SubmitResult
		switch st {
		case "collision":
			continue
		case "duplicate":
			res = SubmitResult{Outcome: OutcomeDuplicateDelivery, RunID: str(rest, 0)}
		case "active":
			res = SubmitResult{Outcome: OutcomeTicketActive, RunID: str(rest, 0)}
		case "queued":
			run, err := hashReply(rest, 1)
			if err != nil {
				return SubmitResult{}, fmt.Errorf("submit ticket %s: %w", sub.Ticket, err)
			}
			s.recorded(ctx, run, EventSubmit, "")
			res = SubmitResult{Outcome: OutcomeQueued, RunID: run.ID}
		default:
			return SubmitResult{}, fmt.Errorf("submit ticket %s: unexpected script status %q", sub.Ticket, st)
		}
		s.log(ctx).V(1).Info("submitted", "ticket", sub.Ticket, "run", res.RunID, "outcome", res.Outcome)
		return res, nil
	}
	return SubmitResult{}, fmt.Errorf("submit ticket %s: no free run id after 5 tries", sub.Ticket)
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
// answer resuming a parked run) and reports whether it is new; a
// redelivery of it gets false. Submit records its own deliveries.
func (s *Store) ClaimDelivery(ctx context.Context, tracker, delivery string) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.deliveryKey(tracker, delivery), "-", s.opts.DeliveryTTL).Result()
	if err != nil {
		return false, fmt.Errorf("record delivery %s: %w", delivery, err)
	}
	return ok, nil
}

// ForgetDelivery drops a delivery ClaimDelivery recorded, when acting on it
// failed and the sender's retry must get through.
func (s *Store) ForgetDelivery(ctx context.Context, tracker, delivery string) error {
	if err := s.rdb.Del(ctx, s.deliveryKey(tracker, delivery)).Err(); err != nil {
		return fmt.Errorf("forget delivery %s: %w", delivery, err)
	}
	return nil
}
