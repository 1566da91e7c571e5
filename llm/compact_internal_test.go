package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// turns builds a conversation: the task, then n turns of one write_file
// call with a long content argument and one long result each.
func turns(n int) []Message {
	msgs := []Message{UserMessage("the task")}
	for i := range n {
		args, _ := json.Marshal(map[string]string{"path": fmt.Sprintf("f%d.go", i), "content": strings.Repeat("y", 2000)})
		id := fmt.Sprintf("c%d", i)
		msgs = append(msgs,
			Message{Role: RoleAssistant, Text: fmt.Sprintf("turn %d", i), ToolCalls: []ToolCall{{ID: id, Name: "write_file", Arguments: args}}},
			Message{Role: RoleTool, ToolCallID: id, ToolName: "write_file", Text: strings.Repeat("r", 5000)})
	}
	return msgs
}

func TestElideCutsOnlyTurnsBeforeTheBoundaryAndIsIdempotent(t *testing.T) {
	g := NewWithT(t)
	msgs := turns(5)
	b := recentBoundary(msgs, 2)
	g.Expect(b).To(Equal(7), "the 4th of 5 turns starts the recent ones")
	g.Expect(elide(msgs, b)).To(BeTrue())
	for i, m := range msgs {
		switch {
		case i == 0:
			g.Expect(m.Text).To(Equal("the task"))
		case i < b && m.Role == RoleTool:
			g.Expect(m.Text).To(ContainSubstring("[compacted: 4700 bytes"))
			g.Expect(len(m.Text)).To(BeNumerically("<", 2*elidedHead))
		case i < b && m.Role == RoleAssistant:
			var args map[string]string
			g.Expect(json.Unmarshal(m.ToolCalls[0].Arguments, &args)).To(Succeed(), "arguments stay a JSON object")
			g.Expect(args["path"]).To(HavePrefix("f"))
			g.Expect(args["content"]).To(Equal("[compacted: 2000 bytes]"))
		case m.Role == RoleTool:
			g.Expect(m.Text).To(HaveLen(5000), "recent results stay verbatim")
		}
	}
	before := fmt.Sprint(msgs)
	g.Expect(elide(msgs, b)).To(BeFalse())
	g.Expect(fmt.Sprint(msgs)).To(Equal(before))
}

func TestCompactorDropsOldTurnsIntoASummaryThenCutsTheLastResults(t *testing.T) {
	g := NewWithT(t)
	est := NewEstimator()
	k := &compactor{
		keep: 3,
		size: func(c *conversation) int { return est.Request(&Request{Messages: c.msgs}) },
		summarize: func(_ context.Context, prior string, dropped []Message) string {
			return strings.TrimSpace(prior + "\n" + digest(dropped))
		},
	}
	c := &conversation{task: "the task", msgs: turns(10)}
	stage := k.run(context.Background(), c, 4000)
	g.Expect(stage).To(Equal(2))
	g.Expect(k.size(c)).To(BeNumerically("<=", 4000))
	g.Expect(c.msgs[0].Text).To(HavePrefix("the task" + summaryHeading))
	g.Expect(c.summary).To(ContainSubstring(`- you said: turn 0`))
	g.Expect(c.summary).To(ContainSubstring(`- write_file {"content":"[compacted: 2000 bytes]","path":"f0.go"} → ok: rrrr`))
	g.Expect(c.msgs[1].Role).To(Equal(RoleAssistant), "the kept part starts with a whole turn")

	// A single turn whose result alone is over the aim is cut in the middle.
	c = &conversation{task: "the task", msgs: []Message{UserMessage("the task"),
		{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: "x", Name: "read_file", Arguments: json.RawMessage(`{}`)}}},
		{Role: RoleTool, ToolCallID: "x", Text: strings.Repeat("a", 20000) + "END"}}}
	g.Expect(k.run(context.Background(), c, 1000)).To(Equal(3))
	g.Expect(k.size(c)).To(BeNumerically("<=", 1000))
	g.Expect(c.msgs[2].Text).To(HaveSuffix("END"), "the tail of a result survives")
}

func TestSummaryIsCappedKeepingItsNewestLines(t *testing.T) {
	g := NewWithT(t)
	k := &compactor{}
	var lines []string
	for i := range 2000 {
		lines = append(lines, fmt.Sprintf("- step %d", i))
	}
	capped := k.capSummary(strings.Join(lines, "\n"), 1000)
	g.Expect(len(capped)).To(BeNumerically("<=", 1000*bytesPerToken/4+100))
	g.Expect(capped).To(HaveSuffix("- step 1999"))
	g.Expect(capped).NotTo(ContainSubstring("- step 1\n"))
}

func TestEstimatorCalibratesTowardsReportedUsageWithinBounds(t *testing.T) {
	g := NewWithT(t)
	e := NewEstimator()
	req := &Request{Messages: []Message{UserMessage(strings.Repeat("word ", 2000))}}
	raw := e.Request(req)
	e.Observe(req, raw*2)
	g.Expect(e.Request(req)).To(BeNumerically("~", raw*2, 2))
	e.Observe(req, raw*100)
	g.Expect(e.Request(req)).To(BeNumerically("~", raw*3, 3), "one odd report cannot blow the estimate up")
}
