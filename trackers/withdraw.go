package trackers

import (
	"fmt"
	"slices"
	"strings"
)

// Unlabeled decides what taking labels off a ticket means: a withdrawal
// when one of removed is a trigger label and the ticket keeps none
// (remaining are its labels after the change), else the reason it is
// not one. noun is how the tracker calls a label ("label", "tag").
// agent-smith's own edits take off lifecycle labels alone, which are
// never trigger labels, so they never withdraw a ticket.
func Unlabeled(noun string, removed, remaining []string, isTrigger func(string) bool) (*Withdrawal, string) {
	i := slices.IndexFunc(removed, isTrigger)
	switch {
	case len(removed) == 0:
		return nil, "no " + noun + " removed"
	case i < 0:
		return nil, fmt.Sprintf("%s %s removed, not a trigger %s", noun, quoted(removed), noun)
	}
	if j := slices.IndexFunc(remaining, isTrigger); j >= 0 {
		return nil, fmt.Sprintf("%s %s removed; the ticket still carries trigger %s %s", noun, removed[i], noun, remaining[j])
	}
	return &Withdrawal{Kind: WithdrawUnlabeled, Reason: fmt.Sprintf("%s %s removed", noun, removed[i])}, ""
}

// Closed is the withdrawal of a ticket that was closed; how names the
// state it moved to where the tracker has several ("state Done").
func Closed(how string) *Withdrawal {
	reason := "ticket closed"
	if how != "" {
		reason += " (" + how + ")"
	}
	return &Withdrawal{Kind: WithdrawClosed, Reason: reason}
}

func quoted(ls []string) string {
	q := make([]string, len(ls))
	for i, l := range ls {
		q[i] = fmt.Sprintf("%q", l)
	}
	return strings.Join(q, ", ")
}
