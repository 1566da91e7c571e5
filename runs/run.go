package runs

import "time"

// Run is one ticket being turned into pull requests. It never holds a
// credential: free text that reaches it (errors, titles, URLs, answers) is
// scrubbed by redact before it is stored.
type Run struct {
	ID       string `json:"id"`
	Project  string `json:"project"`
	Pipeline string `json:"pipeline"`
	Tracker  string `json:"tracker"`
	Ticket   string `json:"ticket"`
	// TicketURL and TicketTitle are known once the ticket was fetched.
	TicketURL   string `json:"ticketUrl,omitempty"`
	TicketTitle string `json:"ticketTitle,omitempty"`
	// Labels are the ticket labels that triggered the run.
	Labels []string `json:"labels,omitempty"`
	Repos  []string `json:"repos"`
	// DeliveryID is the webhook delivery that created the run; empty for polling.
	DeliveryID string `json:"deliveryId,omitempty"`

	State State  `json:"state"`
	Step  string `json:"step,omitempty"`
	// Attempt numbers the executions of the run: 1 at submit, one more each
	// time it goes back to the queue (retry, hand back, resume). Sandbox job
	// ids carry it, so a new execution never shares keys with an older one.
	Attempt int `json:"attempt"`
	// Fence numbers the starts of the run: every start draws a new one,
	// larger than the last, from Redis's clock, so it stays unique even
	// when Redis lost the start before. The owner's heartbeats and writes
	// carry it and are refused once the run is at another fence; sandbox
	// job ids and pod names carry it, so two starts never share a sandbox.
	Fence int64 `json:"fence,omitempty"`
	// Reclaims counts the attempts lost to an owner that stopped
	// heartbeating; the run fails when it reaches Options.MaxAttempts.
	Reclaims int `json:"reclaims,omitempty"`
	// Owner is the replica executing the run, or that executed it last.
	Owner Owner  `json:"owner,omitzero"`
	Error string `json:"error,omitempty"`

	// PullRequests maps a repository to the URL of its pull request.
	PullRequests map[string]string `json:"pullRequests,omitempty"`
	Usage        Usage             `json:"usage"`
	// Trigger says what started the run ("label agent-smith added",
	// "comment by alice"); TriggerComment is the keyword comment that did,
	// when one did.
	Trigger        string `json:"trigger,omitempty"`
	TriggerComment string `json:"triggerComment,omitempty"`
	// DoneStatus is where the ticket goes when the run succeeds, from the
	// trigger that matched; empty means the project's.
	DoneStatus string `json:"doneStatus,omitempty"`
	// Questions are what the plan asked when the run last parked for
	// answers, and Answer the comment that answered them (zero until one
	// did). A resumed run plans again with both.
	Questions Questions `json:"questions,omitzero"`
	Answer    Answer    `json:"answer,omitzero"`
	// StatusCommentID is the ticket comment the run keeps up to date.
	StatusCommentID string `json:"statusCommentId,omitempty"`
	// QuestionsCommentID is the ticket comment with the questions the run
	// last asked; with StatusCommentID, the comments the run knows are its
	// own whoever the tracker says wrote them.
	QuestionsCommentID string `json:"questionsCommentId,omitempty"`
	// FinalCommentID is the comment the finalizer posted with the run's
	// end (done, failed, cancelled).
	FinalCommentID string `json:"finalCommentId,omitempty"`
	// Sandboxes maps a repository to what the sandbox reconciler last saw
	// of its sandbox pod.
	Sandboxes map[string]SandboxStatus `json:"sandboxes,omitempty"`
	// Steps are the pipeline's steps as its owner last recorded them, for
	// the status comment the finalizer renders.
	Steps []StepRecord `json:"steps,omitempty"`
	// Outcome is what the run's end recorded about it (why it failed,
	// what it published), for the finalizer's comments.
	Outcome RunOutcome `json:"outcome,omitzero"`

	// Finalize is where telling the ticket how the run ended stands:
	// pending from its end until the finalizer is done (the ticket claim
	// is held until then); empty for a run that has not ended.
	Finalize FinalizeState `json:"finalize,omitempty"`
	// FinalizeError lists what the finalizer had to skip.
	FinalizeError string `json:"finalizeError,omitempty"`
	// StoppedFence is the fence whose owner said it makes no more side
	// effects; the finalizer waits for it to be Fence.
	StoppedFence int64 `json:"stoppedFence,omitempty"`

	// Plan is the plan the run works to (Markdown), once it has one.
	Plan string `json:"plan,omitempty"`
	// Cancel is who called the run off, when someone did.
	Cancel CancelRequest `json:"cancel,omitzero"`
	// Log tells how much of the run's event log is kept.
	Log LogSize `json:"log,omitzero"`

	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// FinalizeState is where the finalizer is with a run that ended.
type FinalizeState string

// The states of finalizing.
const (
	FinalizePending FinalizeState = "pending"
	FinalizeDone    FinalizeState = "done"
	// FinalizeGaveUp: some ticket write kept failing and was skipped.
	FinalizeGaveUp FinalizeState = "gave_up"
)

// StepRecord is one pipeline step as the status comment shows it.
type StepRecord struct {
	Name  string `json:"name"`
	State string `json:"state"`
	// TookMS is how long the step took, in milliseconds.
	TookMS int64    `json:"tookMs,omitempty"`
	Notes  []string `json:"notes,omitempty"`
}

// RunOutcome is what a run's end says about it, beyond its state.
type RunOutcome struct {
	// Step and Reason say where and why a run failed.
	Step   string `json:"step,omitempty"`
	Reason string `json:"reason,omitempty"`
	// WIP lists where a failed run's unfinished work was pushed.
	WIP []string `json:"wip,omitempty"`
	// Summary is what a successful run did.
	Summary string `json:"summary,omitempty"`
	// DoneStatus is where the ticket goes (resolved against the project);
	// empty leaves the ticket where it is.
	DoneStatus string `json:"doneStatus,omitempty"`
	// NothingToDo: the plan found nothing to change.
	NothingToDo bool `json:"nothingToDo,omitempty"`
	// Kind qualifies a cancellation: OutcomeExpired for a parked run
	// nobody answered.
	Kind string `json:"kind,omitempty"`
	// Repos says what the run did in each repository (Markdown).
	Repos []RepoResult `json:"repos,omitempty"`
	// Skills names the prompt catalog the run used.
	Skills string `json:"skills,omitempty"`
}

// OutcomeExpired is the RunOutcome.Kind of a parked run cancelled because
// nobody answered in time.
const OutcomeExpired = "expired"

// RepoResult is what a run did in one repository.
type RepoResult struct {
	Name   string `json:"name"`
	Result string `json:"result"`
}

// Questions are the open questions of a parked run's plan.
type Questions struct {
	// Asked are the questions, one line each.
	Asked []string `json:"asked,omitempty"`
	// Round counts the times the run parked for answers, this one included.
	Round int `json:"round,omitempty"`
}

// Answer is the ticket comment that answered a parked run's questions.
type Answer struct {
	Text   string `json:"text,omitempty"`
	Author string `json:"author,omitempty"`
}

// Owner identifies an orchestrator replica: its pod name (also its consumer
// name in the queue's group) and pod uid.
type Owner struct {
	Name string `json:"name"`
	UID  string `json:"uid,omitempty"`
}

// Usage is what the run's model calls cost so far, across attempts.
type Usage struct {
	InputTokens  int64   `json:"inputTokens"`
	OutputTokens int64   `json:"outputTokens"`
	CostUSD      float64 `json:"costUsd"`
}

// CancelRequest is who called a run off, why and when.
type CancelRequest struct {
	By     string    `json:"by,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// LogSize is what the run's event log holds: its bytes, and how many of
// the oldest entries were dropped to stay within its bounds.
type LogSize struct {
	Bytes   int64 `json:"bytes"`
	Dropped int64 `json:"dropped,omitempty"`
}
