package runs

import (
	"regexp"
	"strings"
)

// branchUnsafe are characters that do not belong in a branch name.
var branchUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// BranchFor is the branch a ticket's work goes to: agent-smith/{ticket}.
// The sandbox's git gate pushes it and WIPBranchFor, nothing else.
func BranchFor(ticket string) string {
	return "agent-smith/" + strings.Trim(branchUnsafe.ReplaceAllString(ticket, "-"), "-.")
}

// WIPBranchFor is where a failed run's unfinished work goes.
func WIPBranchFor(ticket string) string { return BranchFor(ticket) + "-wip" }
