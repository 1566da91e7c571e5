package runs

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fields of the run hash. Scalars the scripts read or change have a field of
// their own; per-repo pull requests and context entries are spread over
// prefixed fields so a merge is a plain HSET. The scripts also keep "entry",
// the run's current queue entry id, which never leaves the store.
const (
	fID               = "id"
	fProject          = "project"
	fPipeline         = "pipeline"
	fTracker          = "tracker"
	fTicket           = "ticket"
	fTicketURL        = "ticketUrl"
	fTicketTitle      = "ticketTitle"
	fLabels           = "labels"
	fRepos            = "repos"
	fDeliveryID       = "deliveryId"
	fState            = "state"
	fStep             = "step"
	fAttempt          = "attempt"
	fFence            = "fence"
	fStopped          = "stopped"
	fFinalize         = "finalize"
	fFinalizeError    = "finalizeError"
	fFinalComment     = "finalCommentId"
	fSteps            = "steps"
	fOutcome          = "outcome"
	fReclaims         = "reclaims"
	fOwner            = "owner"
	fOwnerUID         = "ownerUid"
	fError            = "error"
	fStatus           = "statusCommentId"
	fQuestionsComment = "questionsCommentId"
	fInput            = "inputTokens"
	fOutput           = "outputTokens"
	fCost             = "costUsd"
	fCreatedAt        = "createdAt"
	fUpdatedAt        = "updatedAt"
	fStartedAt        = "startedAt"
	fFinishedAt       = "finishedAt"
	fPlan             = "plan"
	fCancelBy         = "cancelBy"
	fCancelReason     = "cancelReason"
	fCancelAt         = "cancelAt"
	// The event script keeps these two.
	fEventBytes    = "eventBytes"
	fEventsDropped = "eventsDropped"

	prPrefix      = "pr."
	sandboxPrefix = "sandbox."

	// What intake and the pipeline tell each other about a run. The names
	// are those of the free-form "ctx." map these fields replaced, so runs
	// stored before decode as they were, and a replica of the previous
	// version reads the runs this one writes. Other "ctx." fields are
	// ignored.
	fTrigger        = "ctx.trigger"
	fTriggerComment = "ctx.comment"
	fDoneStatus     = "ctx.doneStatus"
	fQuestions      = "ctx.questions"
	fQuestionRound  = "ctx.questionRounds"
	fAnswer         = "ctx.answer"
	fAnswerBy       = "ctx.answerBy"
)

// submissionFields are the hash fields Submit writes besides the ones the
// script sets (state, attempt, timestamps, entry).
func submissionFields(id string, sub Submission) ([]any, error) {
	labels, err := json.Marshal(orEmpty(sub.Labels))
	if err != nil {
		return nil, err
	}
	repos, err := json.Marshal(sub.Repos)
	if err != nil {
		return nil, err
	}
	kv := []any{
		fID, id, fProject, sub.Project, fPipeline, sub.Pipeline,
		fTracker, sub.Tracker, fTicket, sub.Ticket,
		fLabels, string(labels), fRepos, string(repos),
	}
	kv = appendSet(kv, fTicketURL, redact(sub.TicketURL))
	kv = appendSet(kv, fTicketTitle, redact(sub.TicketTitle))
	kv = appendSet(kv, fDeliveryID, sub.DeliveryID)
	kv = appendSet(kv, fTrigger, redact(sub.Trigger))
	kv = appendSet(kv, fTriggerComment, redact(sub.TriggerComment))
	kv = appendSet(kv, fDoneStatus, redact(sub.DoneStatus))
	return kv, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func appendSet(kv []any, field, value string) []any {
	if value == "" {
		return kv
	}
	return append(kv, field, value)
}

// decodeRun builds a Run from the run hash.
func decodeRun(h map[string]string) (Run, error) {
	r := Run{
		ID: h[fID], Project: h[fProject], Pipeline: h[fPipeline],
		Tracker: h[fTracker], Ticket: h[fTicket],
		TicketURL: h[fTicketURL], TicketTitle: h[fTicketTitle],
		DeliveryID: h[fDeliveryID], State: State(h[fState]), Step: h[fStep],
		Owner: Owner{Name: h[fOwner], UID: h[fOwnerUID]}, Error: h[fError],
		StatusCommentID: h[fStatus], QuestionsCommentID: h[fQuestionsComment], FinalCommentID: h[fFinalComment],
		Finalize: FinalizeState(h[fFinalize]), FinalizeError: h[fFinalizeError],
		Trigger: h[fTrigger], TriggerComment: h[fTriggerComment], DoneStatus: h[fDoneStatus],
		Questions: Questions{Asked: splitLines(h[fQuestions])},
		Answer:    Answer{Text: h[fAnswer], Author: h[fAnswerBy]},
		Plan:      h[fPlan],
		Cancel:    CancelRequest{By: h[fCancelBy], Reason: h[fCancelReason]},
	}
	if r.ID == "" {
		return Run{}, errors.New("run hash without id")
	}
	if err := decodeScalars(h, &r); err != nil {
		return Run{}, fmt.Errorf("run %s %w", r.ID, err)
	}
	if err := decodeSpread(h, &r); err != nil {
		return Run{}, fmt.Errorf("run %s %w", r.ID, err)
	}
	return r, nil
}

// decodeScalars parses the hash's lists, numbers and times into r.
func decodeScalars(h map[string]string, r *Run) error {
	for _, f := range []struct {
		field string
		into  any
	}{{fLabels, &r.Labels}, {fRepos, &r.Repos}, {fSteps, &r.Steps}, {fOutcome, &r.Outcome}} {
		if v := h[f.field]; v != "" {
			if err := json.Unmarshal([]byte(v), f.into); err != nil {
				return fmt.Errorf("field %s: %w", f.field, err)
			}
		}
	}
	var err error
	for _, f := range []struct {
		field string
		into  *int
	}{{fAttempt, &r.Attempt}, {fReclaims, &r.Reclaims}, {fQuestionRound, &r.Questions.Round}} {
		if *f.into, err = atoiOrZero(h[f.field]); err != nil {
			return fmt.Errorf("field %s: %w", f.field, err)
		}
	}
	for _, f := range []struct {
		field string
		into  *int64
	}{{fInput, &r.Usage.InputTokens}, {fOutput, &r.Usage.OutputTokens}, {fFence, &r.Fence}, {fStopped, &r.StoppedFence},
		{fEventBytes, &r.Log.Bytes}, {fEventsDropped, &r.Log.Dropped}} {
		if *f.into, err = parseInt64(h[f.field]); err != nil {
			return fmt.Errorf("field %s: %w", f.field, err)
		}
	}
	if v := h[fCost]; v != "" {
		if r.Usage.CostUSD, err = strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("field %s: %w", fCost, err)
		}
	}
	for _, f := range []struct {
		field string
		into  *time.Time
	}{{fCreatedAt, &r.CreatedAt}, {fUpdatedAt, &r.UpdatedAt}, {fStartedAt, &r.StartedAt}, {fFinishedAt, &r.FinishedAt}, {fCancelAt, &r.Cancel.At}} {
		ms, err := parseInt64(h[f.field])
		if err != nil {
			return fmt.Errorf("field %s: %w", f.field, err)
		}
		if ms > 0 {
			*f.into = time.UnixMilli(ms).UTC()
		}
	}
	return nil
}

// decodeSpread collects the per-repository fields (pull requests,
// sandboxes) into r's maps.
func decodeSpread(h map[string]string, r *Run) error {
	for k, v := range h {
		switch {
		case strings.HasPrefix(k, prPrefix):
			if r.PullRequests == nil {
				r.PullRequests = map[string]string{}
			}
			r.PullRequests[k[len(prPrefix):]] = v
		case strings.HasPrefix(k, sandboxPrefix):
			st, err := decodeSandboxStatus(v)
			if err != nil {
				return fmt.Errorf("field %s: %w", k, err)
			}
			if r.Sandboxes == nil {
				r.Sandboxes = map[string]SandboxStatus{}
			}
			r.Sandboxes[k[len(sandboxPrefix):]] = st
		}
	}
	return nil
}

// joinLines stores a list one item a line; an item's own line breaks
// become spaces so that it reads back as one item.
func joinLines(items []string) string {
	flat := make([]string, len(items))
	for i, s := range items {
		flat[i] = strings.Join(strings.Fields(s), " ")
	}
	return strings.Join(flat, "\n")
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func atoiOrZero(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.Atoi(s)
}

func parseInt64(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// Update is what a caller records on a run besides its state. Empty fields
// leave the stored value alone; maps are merged key by key.
type Update struct {
	// Fence fences the write to one start of the run: when set, the write
	// fails with ErrLeaseLost if the run has been started again since (it
	// was reclaimed, handed back or resumed meanwhile), and a write that
	// is no transition also fails once the run is no longer active. The
	// owner's events (ready, publish, succeed, await input, hand back)
	// must carry it.
	Fence int64
	Step  string
	Error string
	// PullRequests maps a repository to its pull request URL.
	PullRequests       map[string]string
	StatusCommentID    string
	QuestionsCommentID string
	TicketURL          string
	TicketTitle        string
	// Questions, when set, records the questions a run parks with: they
	// replace the earlier ones and clear the earlier answer.
	Questions *Questions
	// Answer, when set, records the comment that answered the questions.
	Answer *Answer
	// Sandboxes records the sandbox of each repository named; the others
	// keep what they had.
	Sandboxes map[string]SandboxStatus
	// AddUsage is added to the run's totals.
	AddUsage Usage
	// Steps, when set, replace the recorded pipeline steps.
	Steps []StepRecord
	// Outcome, when set, records what the run's end says about it.
	Outcome *RunOutcome
	// FinalCommentID records the finalizer's comment.
	FinalCommentID string
	// Plan, when set, replaces the run's plan (Markdown; cut at 16 KiB).
	Plan string

	// cancel records who called the run off (Cancel sets it).
	cancel *CancelRequest
	// restart clears what ended the previous attempt (Restart sets it).
	restart bool
}

// maxStepsJSON bounds the recorded steps: notes are clipped until they fit.
const maxStepsJSON = 16 << 10

// maxPlan bounds the plan a run keeps.
const maxPlan = 16 << 10

// fields renders the update as hash field/value pairs, scrubbed of secrets.
func (u Update) fields() []any {
	var kv []any
	kv = appendSet(kv, fStep, redact(u.Step))
	kv = appendSet(kv, fError, redact(u.Error))
	kv = appendSet(kv, fStatus, u.StatusCommentID)
	kv = appendSet(kv, fQuestionsComment, u.QuestionsCommentID)
	kv = appendSet(kv, fTicketURL, redact(u.TicketURL))
	kv = appendSet(kv, fTicketTitle, redact(u.TicketTitle))
	for _, k := range sortedKeys(u.PullRequests) {
		kv = append(kv, prPrefix+k, redact(u.PullRequests[k]))
	}
	if q := u.Questions; q != nil {
		kv = append(kv, fQuestions, redact(joinLines(q.Asked)), fQuestionRound, strconv.Itoa(q.Round), fAnswer, "", fAnswerBy, "")
	}
	if a := u.Answer; a != nil {
		kv = append(kv, fAnswer, redact(a.Text), fAnswerBy, redact(a.Author))
	}
	for _, k := range slices.Sorted(maps.Keys(u.Sandboxes)) {
		kv = append(kv, sandboxPrefix+k, u.Sandboxes[k].encode())
	}
	kv = appendSet(kv, fFinalComment, u.FinalCommentID)
	if u.Steps != nil {
		kv = append(kv, fSteps, encodeSteps(u.Steps))
	}
	if o := u.Outcome; o != nil {
		data, _ := json.Marshal(o.redacted()) // strings, lists and a bool always marshal
		kv = append(kv, fOutcome, string(data))
	}
	kv = appendSet(kv, fPlan, head(redact(u.Plan), maxPlan))
	if c := u.cancel; c != nil {
		kv = append(kv, fCancelBy, head(redact(c.By), maxShort), fCancelReason, head(redact(c.Reason), maxShort),
			fCancelAt, strconv.FormatInt(c.At.UnixMilli(), 10))
	}
	if u.restart {
		kv = append(kv, fError, "", fFinishedAt, "", fReclaims, "0", fCancelBy, "", fCancelReason, "", fCancelAt, "",
			fOutcome, "", fFinalComment, "")
	}
	return kv
}

// encodeSteps renders steps for their field, scrubbed, with notes clipped
// (longest first) until the whole fits in maxStepsJSON.
func encodeSteps(steps []StepRecord) string {
	out := make([]StepRecord, len(steps))
	for i, st := range steps {
		out[i] = st
		out[i].Notes = make([]string, len(st.Notes))
		for j, n := range st.Notes {
			out[i].Notes[j] = redact(n)
		}
	}
	for limit := 2000; ; limit /= 2 {
		data, _ := json.Marshal(out)
		if len(data) <= maxStepsJSON || limit < 16 {
			return string(data)
		}
		for i := range out {
			for j, n := range out[i].Notes {
				if len(n) > limit {
					out[i].Notes[j] = strings.ToValidUTF8(n[:limit], "") + " …"
				}
			}
		}
	}
}

func (o RunOutcome) redacted() RunOutcome {
	o.Step, o.Reason, o.Summary, o.DoneStatus = redact(o.Step), redact(o.Reason), redact(o.Summary), redact(o.DoneStatus)
	o.WIP = slices.Clone(o.WIP)
	for i := range o.WIP {
		o.WIP[i] = redact(o.WIP[i])
	}
	o.Repos = slices.Clone(o.Repos)
	for i := range o.Repos {
		o.Repos[i].Result = redact(o.Repos[i].Result)
	}
	return o
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
