package trackers

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestUnlabeledWithdrawsOnlyWhenTheLastTriggerLabelGoes(t *testing.T) {
	isTrigger := func(l string) bool {
		return !IsLifecycleLabel(l) && (strings.EqualFold(l, "agent-smith") || l == "ai-fix")
	}
	for _, tc := range []struct {
		name               string
		removed, remaining []string
		withdrawn, why     string
	}{
		{"last trigger label", []string{"Agent-Smith"}, []string{"bug"}, "label Agent-Smith removed", ""},
		{"one of several removed at once", []string{"bug", "agent-smith"}, nil, "label agent-smith removed", ""},
		{"another trigger label stays", []string{"agent-smith"}, []string{"ai-fix"}, "",
			"label agent-smith removed; the ticket still carries trigger label ai-fix"},
		{"not a trigger label", []string{"bug"}, []string{"agent-smith"}, "", `label "bug" removed, not a trigger label`},
		{"agent-smith's own lifecycle label", []string{"agent-smith:queued"}, []string{"agent-smith", "agent-smith:in-progress"}, "",
			`label "agent-smith:queued" removed, not a trigger label`},
		{"nothing removed", nil, []string{"agent-smith"}, "", "no label removed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			w, why := Unlabeled("label", tc.removed, tc.remaining, isTrigger)
			g.Expect(why).To(Equal(tc.why))
			if tc.withdrawn == "" {
				g.Expect(w).To(BeNil())
				return
			}
			g.Expect(w).To(Equal(&Withdrawal{Kind: WithdrawUnlabeled, Reason: tc.withdrawn}))
		})
	}
}

func TestClosedNamesTheStateItMovedTo(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Closed("")).To(Equal(&Withdrawal{Kind: WithdrawClosed, Reason: "ticket closed"}))
	g.Expect(Closed("state Done")).To(Equal(&Withdrawal{Kind: WithdrawClosed, Reason: "ticket closed (state Done)"}))
}
