package trackers

import (
	"context"
	"strings"
)

// Identity is the account a tracker's credentials act as: who agent-smith
// is on that tracker.
type Identity struct {
	// ID is the account's stable id: the GitHub or GitLab user id, the
	// Azure DevOps identity id, the Jira accountId.
	ID string
	// Name is how people see the account (login, unique name, display
	// name), for logs and for matching where a payload carries no id.
	Name string
	// Dedicated is set when the account acts for agent-smith alone: a
	// GitHub App's bot, a GitLab project or group access token's bot user,
	// a Jira app account or the configured agent user. A person's token
	// (GitHub or GitLab personal access token, Azure DevOps PAT, a Jira
	// user's API token) is not: that person's own comments, answers
	// included, are theirs.
	Dedicated bool
}

// Known reports whether the identity was learned.
func (i Identity) Known() bool { return i.ID != "" }

// Owns reports whether a comment is agent-smith's own: its author is the
// account itself, and either the account is Dedicated or the comment
// carries agent-smith's mark (the tracker's: Marked, or Azure DevOps'
// invisible one). The mark alone decides nothing, since anyone can type
// it; on a person's account it tells agent-smith's comments from the
// person's.
func (i Identity) Owns(authorID string, marked bool) bool {
	return i.Known() && authorID == i.ID && (i.Dedicated || marked)
}

// Self is a Tracker that knows which account it acts as.
type Self interface {
	// Self is that account, asked of the tracker's API the first time and
	// cached; a failure is not cached. The webhook path never waits for
	// it: until it is known, comment deliveries are ignored with a reason
	// (a delivery could be agent-smith's own, and acting on it could start
	// a run from its own words).
	Self(ctx context.Context) (Identity, error)
}

// MarkPrefix starts the first line of every comment agent-smith writes
// (<!-- agent-smith:status run=… -->), hidden where the tracker renders
// Markdown. It classifies agent-smith's own comments (status, questions,
// outcome) once Identity.Owns said they are its own; in anyone else's
// comment it is ordinary text.
const MarkPrefix = "<!-- agent-smith:"

// Marked reports whether a comment body starts with MarkPrefix.
func Marked(body string) bool {
	return strings.HasPrefix(strings.TrimLeft(body, " \t\r\n"), MarkPrefix)
}

// MarkedAs reports whether a comment body starts with agent-smith's mark of
// kind (status, questions, done, failed).
func MarkedAs(body, kind string) bool {
	return strings.HasPrefix(strings.TrimLeft(body, " \t\r\n"), MarkPrefix+kind)
}
