package runs

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
)

// A run hash as the version with the free-form context map stored it: its
// "ctx." fields must come back as the typed fields.
func TestARunStoredWithTheContextMapDecodesIntoTheTypedFields(t *testing.T) {
	g := NewWithT(t)
	r, err := decodeRun(map[string]string{
		"id": "r1", "project": "shop", "pipeline": "fix-bug", "tracker": "github", "ticket": "acme/shop#1",
		"repos": `["shop-api"]`, "state": "queued", "attempt": "2",
		"ctx.trigger": "comment by alice", "ctx.comment": "/agent-smith fix-bug", "ctx.doneStatus": "In Review",
		"ctx.questions": "Which API?\nKeep the old one?", "ctx.questionRounds": "1",
		"ctx.answer": "v2, and no.", "ctx.answerBy": "carol",
		"ctx.language.shop-api": "go",
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r).To(And(
		HaveField("Trigger", "comment by alice"), HaveField("TriggerComment", "/agent-smith fix-bug"),
		HaveField("DoneStatus", "In Review"),
		HaveField("Questions", Questions{Asked: []string{"Which API?", "Keep the old one?"}, Round: 1}),
		HaveField("Answer", Answer{Text: "v2, and no.", Author: "carol"}),
		HaveField("Attempt", 2),
	))
}

// The fields a submission and an update write are the ones a stored run
// decodes from.
func TestTheTypedFieldsSurviveTheHash(t *testing.T) {
	g := NewWithT(t)
	kv, err := submissionFields("r1", Submission{
		Project: "shop", Pipeline: "fix-bug", Tracker: "github", Ticket: "acme/shop#1", Repos: []string{"shop-api"},
		Trigger: "label agent-smith added", TriggerComment: "/agent-smith", DoneStatus: "closed",
	})
	g.Expect(err).NotTo(HaveOccurred())
	kv = append(kv, Update{Questions: &Questions{Asked: []string{"Why?", "How\nso?"}, Round: 3}}.fields()...)
	h := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		h[fmt.Sprint(kv[i])] = fmt.Sprint(kv[i+1])
	}
	r, err := decodeRun(h)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r).To(And(
		HaveField("Trigger", "label agent-smith added"), HaveField("TriggerComment", "/agent-smith"),
		HaveField("DoneStatus", "closed"),
		HaveField("Questions", Questions{Asked: []string{"Why?", "How so?"}, Round: 3}),
		HaveField("Answer", BeZero()),
	))
}

func TestAHashWithABadNumberNamesTheRunAndTheField(t *testing.T) {
	_, err := decodeRun(map[string]string{"id": "r1", "ctx.questionRounds": "two"})
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring("run r1 field ctx.questionRounds")))
}
