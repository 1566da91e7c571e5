package trackers

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestOwnIsDecidedByTheAuthorNotByTheMark(t *testing.T) {
	person := Identity{ID: "17", Name: "alice"}
	bot := Identity{ID: "99", Name: "agent-smith[bot]", Dedicated: true}
	for _, tc := range []struct {
		name     string
		self     Identity
		author   string
		marked   bool
		wantOwns bool
	}{
		{"a stranger's marked comment", person, "666", true, false},
		{"a stranger's marked comment on a dedicated account's tracker", bot, "666", true, false},
		{"the person's own answer, unmarked", person, "17", false, false},
		{"the person's account writing agent-smith's mark", person, "17", true, true},
		{"the dedicated account, unmarked", bot, "99", false, true},
		{"identity not learned yet", Identity{}, "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(tc.self.Owns(tc.author, tc.marked)).To(Equal(tc.wantOwns))
		})
	}
}

func TestMarkedReadsOnlyTheStartOfTheComment(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Marked("\n  <!-- agent-smith:status run=r1 -->\n### agent-smith")).To(BeTrue())
	g.Expect(MarkedAs("<!-- agent-smith:questions run=r1 -->", "questions")).To(BeTrue())
	g.Expect(MarkedAs("<!-- agent-smith:status run=r1 -->", "questions")).To(BeFalse())
	g.Expect(Marked("I saw <!-- agent-smith:status --> in a comment")).To(BeFalse())
}
