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
	// Sandboxes maps a repository to what the sandbox reconciler last saw
	// of its sandbox pod.
	Sandboxes map[string]SandboxStatus `json:"sandboxes,omitempty"`

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
