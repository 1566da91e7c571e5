package intake

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers"
)

// serve handles one delivery: route → method → content type → body →
// verify → parse → resolve → submit. Nothing is queued unless the delivery
// verified, and nothing here calls the tracker or a model.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	snap := h.state.Load()
	name, status, msg := snap.route(r)
	if status != 0 {
		outcome := outcomeNotFound
		if status == http.StatusForbidden {
			outcome = outcomeRefused
		}
		h.finish(w, start, unknownTracker, unverified, outcome, status, reply{Error: msg})
		return
	}
	fail := func(outcome string, status int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		// V(1): unverified senders must not be able to flood the log.
		h.logger(r.Context()).V(1).Info("webhook delivery refused", "tracker", name, "outcome", outcome, "status", status, "reason", msg)
		h.finish(w, start, name, unverified, outcome, status, reply{Error: msg})
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(outcomeMethodNotAllowed, http.StatusMethodNotAllowed, "webhooks are POST requests, not %s", r.Method)
		return
	}
	if why := mediaTypeProblem(r.Header.Get("Content-Type")); why != "" {
		fail(outcomeMediaType, http.StatusUnsupportedMediaType, "%s", why)
		return
	}
	body, status, err := h.readBody(w, r)
	if err != nil {
		outcome := map[int]string{http.StatusRequestEntityTooLarge: outcomeTooLarge, http.StatusRequestTimeout: outcomeTimeout}[status]
		fail(cmp.Or(outcome, outcomeBadRequest), status, "%v", err)
		return
	}
	tr := snap.trackers[name]
	if err := tr.VerifyWebhook(r.Header, body); err != nil {
		if errors.Is(err, trackers.ErrNoWebhookSecret) {
			fail(outcomeRefused, http.StatusForbidden, "%v", err)
			return
		}
		fail(outcomeUnauthorized, http.StatusUnauthorized, "%v", err)
		return
	}
	ev, err := tr.ParseWebhook(r.Header, body)
	if err != nil {
		fail(outcomeBadRequest, http.StatusBadRequest, "%v", err)
		return
	}
	sum := sha256.Sum256(body)
	d := delivery{tracker: name, ev: ev, body: hex.EncodeToString(sum[:])}
	log := h.logger(r.Context()).WithValues("tracker", name, "delivery", ev.DeliveryID, "event", ev.Name, "ticket", ev.Ticket.ID)
	ctx := logr.NewContext(r.Context(), log)
	outcome, status, rep := h.handle(ctx, snap, d)
	rep.Tracker, rep.Ticket, rep.Delivery = name, ev.Ticket.ID, ev.DeliveryID
	switch {
	case status >= 500:
		log.Error(rep.cause, "webhook delivery failed", "outcome", outcome)
	case status == http.StatusAccepted:
		log.Info("webhook delivery acted", "outcome", outcome, "run", strings.Join(rep.Runs, ","))
	default:
		log.V(1).Info("webhook delivery ignored", "outcome", outcome, "reason", rep.Reason)
	}
	h.finish(w, start, name, snap.eventLabel(name, ev.Name), outcome, status, rep)
}

// delivery is a verified webhook delivery of tracker, parsed.
type delivery struct {
	tracker string
	ev      trackers.Event
	// body is the hex SHA-256 of the body: the sender's delivery id is
	// not signed, so a replay under a fresh id is known by its body.
	body string
}

// handle decides what a verified event does.
func (h *Handler) handle(ctx context.Context, snap *snapshot, d delivery) (outcome string, status int, rep reply) {
	ev := d.ev
	switch {
	case ev.Kind == trackers.EventPing:
		return outcomePing, http.StatusOK, reply{Outcome: outcomeIgnored, Reason: "ping: the webhook reaches agent-smith"}
	case ev.Ignore != "":
		return outcomeIgnored, http.StatusOK, reply{Outcome: outcomeIgnored, Reason: ev.Ignore}
	case ev.Withdrawn != nil:
		return h.withdraw(ctx, snap, d)
	}
	if ev.Kind == trackers.EventComment && ev.Comment != nil {
		if o, s, r, done := h.ownComment(ctx, d); done {
			return o, s, r
		}
		// Only a trusted person's comment answers a parked run: never
		// agent-smith's own (its questions must not answer themselves).
		if ev.Comment.Trusted && !ev.Comment.Own {
			if o, s, r, done := h.resume(ctx, d); done {
				return o, s, r
			}
		}
	}
	res := trackers.Resolve(snap.cfg, d.tracker, ev)
	if len(res.Matches) == 0 {
		if ev.Trigger != "" {
			h.notices.log(h.logger(ctx), d.tracker, ev.Ticket.ID, "a ticket triggered by a webhook matches no project", res.Reason)
		}
		return outcomeIgnored, http.StatusOK, reply{Outcome: outcomeIgnored, Reason: res.Reason}
	}
	return h.submit(ctx, snap, d, res.Matches)
}

// ownComment answers a comment agent-smith itself posted (its id was
// recorded when it was posted): it never starts or answers a run, whoever
// the tracker says wrote it. done is false for anyone else's comment.
func (h *Handler) ownComment(ctx context.Context, d delivery) (outcome string, status int, rep reply, done bool) {
	own, err := h.runs.OwnComment(ctx, d.tracker, d.ev.Ticket.ID, d.ev.Comment.ID)
	if err != nil {
		o, s, r := storeFailure(err)
		return o, s, r, true
	}
	if !own {
		return "", 0, reply{}, false
	}
	return outcomeIgnored, http.StatusOK, reply{Outcome: outcomeIgnored,
		Reason: fmt.Sprintf("comment %s is agent-smith's own: it posted it", d.ev.Comment.ID)}, true
}

// resume answers a run parked in awaiting_input with the comment; done is
// false when the ticket has no parked run.
func (h *Handler) resume(ctx context.Context, d delivery) (outcome string, status int, rep reply, done bool) {
	ev := d.ev
	run, ok, err := h.runs.AwaitingInput(ctx, d.tracker, ev.Ticket.ID)
	if err != nil {
		o, s, r := storeFailure(err)
		return o, s, r, true
	}
	if !ok {
		return "", 0, reply{}, false
	}
	if predates(ev.Comment.ID, run.QuestionsCommentID) {
		return outcomeIgnored, http.StatusOK, reply{Outcome: outcomeIgnored, Runs: []string{run.ID},
			Reason: fmt.Sprintf("comment %s predates the questions of run %s (comment %s): answer below them", ev.Comment.ID, run.ID, run.QuestionsCommentID)}, true
	}
	first, err := h.runs.ClaimDelivery(ctx, d.tracker, ev.DeliveryID, d.body)
	if err != nil {
		o, s, r := storeFailure(err)
		return o, s, r, true
	}
	if !first {
		return outcomeDuplicate, http.StatusOK, reply{Outcome: outcomeDuplicate, Runs: []string{run.ID},
			Reason: "delivery " + ev.DeliveryID + " was already received"}, true
	}
	_, err = h.runs.Resume(ctx, run.ID, runs.Answer{Text: ev.Comment.Body, Author: ev.Comment.Author})
	if err != nil && !errors.Is(err, runs.ErrIllegalTransition) && !errors.Is(err, runs.ErrNotFound) {
		// The sender retries a failed delivery: let the retry resume.
		if ferr := h.runs.ForgetDelivery(context.WithoutCancel(ctx), d.tracker, ev.DeliveryID, d.body); ferr != nil {
			h.logger(ctx).Error(ferr, "forgetting a failed delivery failed; its retry will be ignored", "delivery", ev.DeliveryID)
		}
	}
	switch {
	case errors.Is(err, runs.ErrIllegalTransition), errors.Is(err, runs.ErrNotFound):
		return outcomeIgnored, http.StatusOK, reply{Outcome: outcomeIgnored, Runs: []string{run.ID},
			Reason: fmt.Sprintf("run %s is no longer awaiting input", run.ID)}, true
	case err != nil:
		o, s, r := storeFailure(err)
		return o, s, r, true
	}
	return outcomeResumed, http.StatusAccepted, reply{Outcome: outcomeResumed, Runs: []string{run.ID},
		Reason: fmt.Sprintf("comment by %s answers the questions of run %s", ev.Comment.Author, run.ID)}, true
}

// predates reports whether comment id was written before the questions
// comment: every tracker numbers comments in increasing order, so an
// answer has the higher id. Ids that are not numbers decide nothing.
func predates(id, questions string) bool {
	c, err1 := strconv.ParseInt(id, 10, 64)
	q, err2 := strconv.ParseInt(questions, 10, 64)
	return err1 == nil && err2 == nil && c <= q
}

// submit asks for one run per matched project. The store claims a ticket
// once per tracker, so when several projects match, the first queues and
// the others report the ticket's active run: the reply says so per project.
func (h *Handler) submit(ctx context.Context, snap *snapshot, d delivery, matches []trackers.Match) (outcome string, status int, rep reply) {
	ev := d.ev
	var queued, reasons []string
	var first runs.Outcome
	for i, m := range matches {
		sub := submission(snap.cfg, d.tracker, ev.Ticket, m)
		sub.DeliveryID, sub.BodyDigest = ev.DeliveryID, d.body
		sub.TriggerKey, sub.TriggerSeq, sub.Trigger = ev.Mark.Key, ev.Mark.Seq, ev.Trigger
		if ev.Comment != nil {
			sub.Trigger, sub.TriggerComment = "comment by "+ev.Comment.Author, ev.Comment.Body
		}
		// One delivery id (and body) per project, so a redelivery is
		// recognised for each project and not only the first.
		if i > 0 {
			sub.DeliveryID, sub.BodyDigest = suffixed(sub.DeliveryID, m.Project), suffixed(sub.BodyDigest, m.Project)
		}
		res, err := h.runs.Submit(ctx, sub)
		if err != nil {
			o, s, r := storeFailure(err)
			r.Runs = queued
			return o, s, r
		}
		rep.Projects = append(rep.Projects, projectResult{Project: m.Project, Pipeline: m.Pipeline, Outcome: string(res.Outcome), Run: res.RunID})
		if res.Outcome == runs.OutcomeQueued {
			queued = append(queued, res.RunID)
			continue
		}
		if first == "" && res.Outcome != runs.OutcomeDuplicateDelivery {
			first = res.Outcome
		}
		why := refusal(snap.cfg, ev.Ticket.ID, m, res)
		if res.Outcome == runs.OutcomeNotNew || res.Outcome == runs.OutcomeCapped {
			h.notices.log(h.logger(ctx), d.tracker, ev.Ticket.ID, "a triggered ticket gets no new run", why)
		}
		reasons = append(reasons, m.Project+": "+why)
		if res.RunID != "" {
			rep.Runs = append(rep.Runs, res.RunID)
		}
	}
	if len(queued) > 0 {
		rep.Outcome, rep.Runs, rep.Reason = outcomeQueued, queued, strings.Join(reasons, "; ")
		return outcomeQueued, http.StatusAccepted, rep
	}
	rep.Reason, rep.Runs = strings.Join(reasons, "; "), slices.Compact(rep.Runs)
	outcome, rep.Outcome = refusedOutcome(first)
	return outcome, http.StatusOK, rep
}

// submission is the run a ticket asks for in project m, with the
// ticket's content digest and the per-ticket cap.
func submission(cfg *config.Config, tracker string, t trackers.Ticket, m trackers.Match) runs.Submission {
	return runs.Submission{
		Project: m.Project, Pipeline: m.Pipeline, Tracker: tracker,
		Ticket: t.ID, TicketURL: t.URL, TicketTitle: t.Title,
		Labels: slices.DeleteFunc(slices.Clone(t.Labels), trackers.IsLifecycleLabel), Repos: m.Repos, DoneStatus: m.DoneStatus,
		Digest: trackers.ContentDigest(t), MaxPerDay: cfg.Limits.MaxRunsPerTicketPerDay,
	}
}

func suffixed(id, project string) string {
	if id == "" {
		return ""
	}
	return id + "#" + project
}

// refusal says why the store queued no run for the ticket in project m,
// and what the user can do about it.
func refusal(cfg *config.Config, ticket string, m trackers.Match, res runs.SubmitResult) string {
	switch res.Outcome {
	case runs.OutcomeDuplicateDelivery:
		return fmt.Sprintf("duplicate delivery, it led to run %s", res.RunID)
	case runs.OutcomeTicketActive:
		return fmt.Sprintf("ticket %s already has active run %s", ticket, res.RunID)
	case runs.OutcomeNotNew:
		keyword := defaultKeyword
		if p := cfg.Projects[m.Project]; p != nil && p.Trigger() != nil && p.Trigger().CommentKeyword != "" {
			keyword = p.Trigger().CommentKeyword
		}
		return fmt.Sprintf("ticket %s was already handled by run %s (%s) for this trigger; label it again, edit it, or comment %s to start another",
			ticket, res.RunID, cmp.Or(string(res.LastState), "state unknown"), keyword)
	case runs.OutcomeCapped:
		return fmt.Sprintf("ticket %s started %d runs within a day (limits.max_runs_per_ticket_per_day is %d); trigger it again after %s",
			ticket, res.Count, cfg.Limits.MaxRunsPerTicketPerDay, res.RetryAt.UTC().Format(time.RFC3339))
	}
	return string(res.Outcome)
}

// defaultKeyword is the comment keyword a project without a trigger
// block would have.
const defaultKeyword = "/agent-smith"

// refusedOutcome is the metric outcome and the reply's outcome when no
// project queued a run; first is the first refusal that was not a
// duplicate delivery ("" when every one was).
func refusedOutcome(first runs.Outcome) (metric, replied string) {
	switch first {
	case "":
		return outcomeDuplicate, outcomeIgnored
	case runs.OutcomeNotNew:
		return outcomeNotNew, outcomeNotNew
	case runs.OutcomeCapped:
		return outcomeCapped, outcomeCapped
	}
	return outcomeActive, outcomeIgnored
}

// storeFailure maps a run store error: Redis out of reach is 503, so
// senders that retry (GitLab, Jira; GitHub on a manual redelivery) try
// again later; anything else is a 500. The sender learns no more than
// that; the log has the cause.
func storeFailure(err error) (outcome string, status int, rep reply) {
	if unavailable(err) {
		return outcomeUnavailable, http.StatusServiceUnavailable, reply{cause: err,
			Error: "the run store (Redis) is unavailable; deliver again later"}
	}
	return outcomeError, http.StatusInternalServerError, reply{cause: err, Error: "internal error; see the orchestrator log"}
}

// unavailable reports errors that mean Redis could not be reached or could
// not serve right now, as opposed to a request it refused.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	// Replies of a Redis that is up but cannot serve writes right now (OOM:
	// full, at maxmemory with noeviction).
	for _, prefix := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "OOM"} {
		if redis.HasErrorPrefix(err, prefix) {
			return true
		}
	}
	return false
}

// mediaTypeProblem explains why a Content-Type is refused, or "".
// GitHub's form-encoded deliveries (payload=…) are refused rather than
// supported: every tracker can send JSON, and one body format keeps
// signature checks on exactly the bytes that are parsed.
func mediaTypeProblem(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case ct == "":
		return "no Content-Type: send application/json"
	case err != nil:
		return fmt.Sprintf("Content-Type %q does not parse: send application/json", ct)
	case mt == "application/x-www-form-urlencoded":
		return "form-encoded deliveries are not accepted: set the webhook's content type to application/json"
	case mt != "application/json":
		return fmt.Sprintf("Content-Type %s is not accepted: send application/json", mt)
	case params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8"):
		return fmt.Sprintf("charset %s is not accepted: send UTF-8 JSON", params["charset"])
	}
	return ""
}

// readBody reads the body within the size limit and the read timeout.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	if r.ContentLength > h.bodyLimit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes is over the %d byte limit", r.ContentLength, h.bodyLimit)
	}
	// Not every ResponseWriter supports deadlines (httptest's recorder
	// does not); the server's own ReadTimeout still applies then.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.readTimeout))
	// Sized from Content-Length when the sender gives it, so an 8 KB body
	// is read into one buffer instead of a doubling series of them.
	buf := bytes.NewBuffer(make([]byte, 0, max(r.ContentLength, 0)+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.bodyLimit))
	body := buf.Bytes()
	switch {
	case err == nil:
		return body, 0, nil
	case errors.As(err, new(*http.MaxBytesError)):
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body is over the %d byte limit", h.bodyLimit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, http.StatusRequestTimeout, fmt.Errorf("body not received within %s", h.readTimeout)
	}
	return nil, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
}

func (h *Handler) logger(ctx context.Context) logr.Logger {
	if l, err := logr.FromContext(ctx); err == nil {
		return l.WithName("webhooks")
	}
	return h.log
}
