package sandbox

import (
	"errors"
	"fmt"
	"time"
)

// SchemaVersion is written on every record and checked by the agent; a
// change that old agents would misread bumps it.
const SchemaVersion = 1

// Kind names what a step does.
type Kind string

// The step kinds the agent executes.
const (
	KindRun           Kind = "run"
	KindReadFile      Kind = "readFile"
	KindWriteFile     Kind = "writeFile"
	KindEditFile      Kind = "editFile"
	KindListFiles     Kind = "listFiles"
	KindGrep          Kind = "grep"
	KindDirectoryTree Kind = "directoryTree"
	// KindShutdown ends the agent or the gate that takes it.
	KindShutdown Kind = "shutdown"
)

// The step kinds the git gate executes (see Gate): they carry the git
// credential, and are served on the gate's role only.
const (
	KindGitFetch Kind = "gitFetch"
	KindGitRefs  Kind = "gitRefs"
	KindGitPush  Kind = "gitPush"
)

// GateKind reports whether k is executed by the git gate.
func GateKind(k Kind) bool { return k == KindGitFetch || k == KindGitRefs || k == KindGitPush }

// Roles of the two processes of a sandbox that talk to the sandbox API,
// each with a token of its own: the agent in the toolchain container, and
// the git gate beside it.
const (
	RoleAgent = "agent"
	RoleGate  = "gate"
)

// Bounds of the sandbox API, enforced by the orchestrator before it
// decodes anything: a result, one request of events, and the events of
// one step in all.
const (
	MaxResultBytes       = 8 << 20
	MaxEventRequestBytes = 256 << 10
	StepEventBudget      = 16 << 20
)

// APIServerName is the name the sandbox API's certificate is made for:
// clients pin the certificate itself, so the name only has to match it.
const APIServerName = "sandbox-api.agent-smith.invalid"

// CancelAll, as the cancel of a NextResponse, stops whatever step runs:
// the sandbox is being released.
const CancelAll = "*"

// NextRequest is the body of a poll for the next step. Running names the
// step the poller is executing: such a poll never gets a step, it is the
// heartbeat and the cancel channel of the running one.
type NextRequest struct {
	Running string `json:"running"`
}

// NextResponse answers a poll: a step to execute, or the id of a step to
// cancel (CancelAll: every step).
type NextResponse struct {
	Step   *Step  `json:"step,omitempty"`
	Cancel string `json:"cancel,omitempty"`
}

// GitCredential is what git authenticates to the remote with. It travels
// only in gate steps, just in time, and is never logged.
type GitCredential struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// String hides the password.
func (c GitCredential) String() string { return "{" + c.Username + " [REDACTED]}" }

// MarshalLog hides the password from structured loggers (logr.Marshaler).
func (c GitCredential) MarshalLog() any {
	return struct{ Username, Password string }{c.Username, "[REDACTED]"}
}

// GrepMode selects what a grep step reports.
type GrepMode string

// Grep output modes.
const (
	GrepContent GrepMode = "content" // matching lines (and context lines)
	GrepFiles   GrepMode = "files"   // paths of files with a match
	GrepCounts  GrepMode = "counts"  // matching lines per file
)

// DefaultTimeout is the step timeout when a step names none. The caller
// fills it in before sending, so both sides agree on the deadline.
const DefaultTimeout = 600 * time.Second

// Step is one unit of work for the agent. Which fields matter depends on
// Kind; paths are relative to the sandbox's work root (or absolute inside it).
type Step struct {
	SchemaVersion  int    `json:"schemaVersion"`
	StepID         string `json:"stepId"`
	Kind           Kind   `json:"kind"`
	TimeoutSeconds int    `json:"timeoutSeconds,omitempty"`
	// Stream asks for the live events of a run step: set when its caller
	// watches them, and only then are they sent.
	Stream bool `json:"stream,omitempty"`

	// run: argv without a shell; Env is merged over the agent's
	// environment. Credentials never belong in it: the toolchain holds
	// none (git's is the gate's, see Credential).
	Command          string            `json:"command,omitempty"`
	Args             []string          `json:"args,omitempty"`
	WorkingDirectory string            `json:"workingDirectory,omitempty"`
	Env              map[string]string `json:"env,omitempty"`

	// File kinds. Path is the file (read/write/edit) or the directory
	// (list/grep/tree, default the work root).
	Path            string `json:"path,omitempty"`
	Content         string `json:"content,omitempty"`
	OldString       string `json:"oldString,omitempty"`
	NewString       string `json:"newString,omitempty"`
	ReplaceAll      bool   `json:"replaceAll,omitempty"`
	StartLine       int    `json:"startLine,omitempty"` // 1-based
	LineCount       int    `json:"lineCount,omitempty"`
	WithLineNumbers bool   `json:"withLineNumbers,omitempty"`
	MaxDepth        int    `json:"maxDepth,omitempty"`
	WithSizes       bool   `json:"withSizes,omitempty"`

	// grep.
	Pattern         string   `json:"pattern,omitempty"`
	Glob            string   `json:"glob,omitempty"`
	OutputMode      GrepMode `json:"outputMode,omitempty"`
	HeadLimit       int      `json:"headLimit,omitempty"`
	ContextLines    int      `json:"contextLines,omitempty"`
	CaseInsensitive bool     `json:"caseInsensitive,omitempty"`
	ExcludeGlobs    []string `json:"excludeGlobs,omitempty"`

	// Gate kinds. Branch and Branches must be the run's own (the gate
	// refuses others); Base is the branch to fetch ("" = the remote's
	// HEAD); Commit the workspace's HEAD to push, which the push bundle
	// must carry; Lease the branch's SHA the push expects on the remote
	// ("" = the branch must not exist).
	Base       string         `json:"base,omitempty"`
	Branch     string         `json:"branch,omitempty"`
	Branches   []string       `json:"branches,omitempty"`
	Commit     string         `json:"commit,omitempty"`
	Lease      string         `json:"lease,omitempty"`
	Credential *GitCredential `json:"credential,omitempty"`
}

// Timeout is the step's effective timeout.
func (s Step) Timeout() time.Duration {
	if s.TimeoutSeconds <= 0 {
		return DefaultTimeout
	}
	return time.Duration(s.TimeoutSeconds) * time.Second
}

// Validate reports what makes a step impossible to execute, before it is
// sent or run.
func (s Step) Validate() error {
	if s.SchemaVersion != SchemaVersion {
		return fmt.Errorf("unsupported schemaVersion %d (want %d)", s.SchemaVersion, SchemaVersion)
	}
	if err := ValidateStepID(s.StepID); err != nil {
		return err
	}
	if s.TimeoutSeconds < 0 {
		return fmt.Errorf("negative timeoutSeconds %d", s.TimeoutSeconds)
	}
	var errs []error
	need := func(ok bool, field string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s step needs %s", s.Kind, field))
		}
	}
	switch s.Kind {
	case KindRun:
		need(s.Command != "", "command")
	case KindReadFile, KindWriteFile:
		need(s.Path != "", "path")
	case KindEditFile:
		need(s.Path != "", "path")
		need(s.OldString != "", "oldString")
	case KindGrep:
		need(s.Pattern != "", "pattern")
		switch s.OutputMode {
		case "", GrepContent, GrepFiles, GrepCounts:
		default:
			errs = append(errs, fmt.Errorf("unknown grep outputMode %q", s.OutputMode))
		}
	case KindListFiles, KindDirectoryTree, KindShutdown:
	case KindGitFetch:
		need(s.Branch != "", "branch")
	case KindGitRefs:
		need(len(s.Branches) > 0, "branches")
	case KindGitPush:
		need(s.Branch != "", "branch")
		need(s.Commit != "", "commit")
	default:
		return fmt.Errorf("unknown step kind %q", s.Kind)
	}
	if s.StartLine < 0 || s.LineCount < 0 || s.MaxDepth < 0 || s.HeadLimit < 0 || s.ContextLines < 0 {
		errs = append(errs, errors.New("startLine, lineCount, maxDepth, headLimit and contextLines must not be negative"))
	}
	return errors.Join(errs...)
}

// ValidateStepID checks a step id: 1-64 characters of [A-Za-z0-9-], as it
// becomes part of a URL path.
func ValidateStepID(id string) error {
	ok := id != "" && len(id) <= 64
	for _, c := range id {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')
	}
	if !ok {
		return fmt.Errorf("invalid stepId %q: want 1-64 characters of [A-Za-z0-9-]", id)
	}
	return nil
}

// EventKind names a StepEvent.
type EventKind string

// Event kinds, in the order a run step produces them.
const (
	EventStarted   EventKind = "started"
	EventStdout    EventKind = "stdout"
	EventStderr    EventKind = "stderr"
	EventCompleted EventKind = "completed"
)

// StepEvent is live progress of a run step whose caller watches. Output
// lines are batched: one event carries the lines of one stream gathered in
// at most 100 ms, up to 512 lines or 16 KiB, each line cut at 4 KiB.
type StepEvent struct {
	SchemaVersion int       `json:"schemaVersion"`
	StepID        string    `json:"stepId"`
	Kind          EventKind `json:"kind"`
	Lines         []string  `json:"lines,omitempty"`
	Timestamp     time.Time `json:"timestamp"`
	// Completed only.
	ExitCode int  `json:"exitCode,omitempty"`
	TimedOut bool `json:"timedOut,omitempty"`
	// Completed only: output lines not streamed, because the step's
	// streaming budget was spent or its watcher could not keep up. The
	// result still carries the captured output.
	DroppedLines int64 `json:"droppedLines,omitempty"`
}

// StepResult is the agent's answer to one step.
//
// ErrorMessage is set when the agent could not do what the step asked (a
// path outside the work root, a binary file, a command that could not start,
// a timeout); ExitCode is then -1 unless a process exited. A command that
// ran and failed is not an agent error: its ExitCode says so.
type StepResult struct {
	SchemaVersion   int     `json:"schemaVersion"`
	StepID          string  `json:"stepId"`
	ExitCode        int     `json:"exitCode"`
	TimedOut        bool    `json:"timedOut,omitempty"`
	Cancelled       bool    `json:"cancelled,omitempty"`
	DurationSeconds float64 `json:"durationSeconds"`
	ErrorMessage    string  `json:"errorMessage,omitempty"`

	// OutputContent is the payload of file kinds: the text of readFile and
	// directoryTree, a summary line for writeFile and editFile, and JSON
	// (Listing, GrepResult) for listFiles and grep.
	OutputContent string `json:"outputContent,omitempty"`
	// OutputBytes is the size of the file read or written.
	OutputBytes int64 `json:"outputBytes,omitempty"`
	// TotalLines is the number of lines of the file read.
	TotalLines int `json:"totalLines,omitempty"`
	// Replacements is the number of replacements an editFile made.
	Replacements int `json:"replacements,omitempty"`

	// Stdout and Stderr are a run step's captured output. Each keeps at
	// most OutputCapBytes: past the cap its first and last halves are kept
	// around a marker line. StdoutBytes and StderrBytes count what the
	// command wrote in full.
	Stdout         string `json:"stdout,omitempty"`
	Stderr         string `json:"stderr,omitempty"`
	StdoutBytes    int64  `json:"stdoutBytes,omitempty"`
	StderrBytes    int64  `json:"stderrBytes,omitempty"`
	OutputCapBytes int64  `json:"outputCapBytes,omitempty"`
	// Truncated says output was cut: a run step's output over its cap, a
	// read window over the read cap, a listing, grep or tree over its
	// entry cap.
	Truncated bool `json:"truncated,omitempty"`
}

// Err is the agent's refusal or failure as an error, nil when the agent
// did what the step asked (a non-zero exit code is not an error here).
func (r StepResult) Err() error {
	if r.ErrorMessage == "" {
		return nil
	}
	return &StepError{StepID: r.StepID, Message: r.ErrorMessage, TimedOut: r.TimedOut}
}

// StepError is a step the agent refused or could not complete. The sandbox
// itself is fine: the message is meant for whoever wrote the step (the
// model, in a tool loop).
type StepError struct {
	StepID   string
	Message  string
	TimedOut bool
}

func (e *StepError) Error() string { return e.Message }

// FileEntry is one entry of a listFiles result.
type FileEntry struct {
	Path  string `json:"path"` // relative to the work root, "/" separated
	IsDir bool   `json:"isDir,omitempty"`
	Size  *int64 `json:"size,omitempty"` // files, when sizes were asked for
	// Skipped marks a directory listed but not descended into (.git,
	// node_modules, vendor and the like).
	Skipped bool `json:"skipped,omitempty"`
}

// Listing is the payload of a listFiles result.
type Listing struct {
	Entries   []FileEntry `json:"entries"`
	Truncated bool        `json:"truncated,omitempty"`
}

// GrepMatch is one line of a content-mode grep: a matching line, or a
// context line around one.
type GrepMatch struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Text    string `json:"text"`
	Context bool   `json:"context,omitempty"`
}

// GrepCount is the number of matching lines of one file.
type GrepCount struct {
	Path  string `json:"path"`
	Count int    `json:"count"`
}

// GrepResult is the payload of a grep result; the field of its mode is set.
type GrepResult struct {
	Mode    GrepMode    `json:"mode"`
	Matches []GrepMatch `json:"matches,omitempty"`
	Files   []string    `json:"files,omitempty"`
	Counts  []GrepCount `json:"counts,omitempty"`
	// Truncated says HeadLimit cut the result.
	Truncated bool `json:"truncated,omitempty"`
	// Engine is "ripgrep" or "go", for whoever wonders about a difference.
	Engine string `json:"engine"`
}
