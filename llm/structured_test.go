package llm_test

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/llm"
)

type plan struct {
	Summary string   `json:"summary"`
	Steps   []string `json:"steps"`
}

func (p *plan) Validate() error {
	if len(p.Steps) == 0 {
		return errors.New("steps must not be empty")
	}
	return nil
}

func TestAskJSONDecodesTheAnswer(t *testing.T) {
	for name, answer := range map[string]string{
		"bare":         `{"summary": "fix add", "steps": ["edit add.go"]}`,
		"fenced":       "```json\n{\"summary\": \"fix add\", \"steps\": [\"edit add.go\"]}\n```",
		"within prose": "Here is the plan:\n{\"summary\": \"fix add\", \"steps\": [\"edit add.go\"]}\nGood luck.",
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			p := &spy{next: script(t, "- text: '"+escapeYAML(answer)+"'\n")}
			var out plan
			res, err := llm.AskJSON(context.Background(), llm.Query{Model: model(p), Phase: "planning", System: "plan", Prompt: "ticket"}, &out)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(out).To(Equal(plan{Summary: "fix add", Steps: []string{"edit add.go"}}))
			g.Expect(res.Calls).To(Equal(1))
			g.Expect(res.Repaired).To(BeFalse())
			g.Expect(p.requests[0].JSON).To(BeTrue())
			g.Expect(p.requests[0].Tools).To(BeEmpty())
		})
	}
}

func TestAskJSONRepairsOnceThenGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers string
		ok      bool
		problem string
	}{
		{"invalid JSON repaired", `
- text: '{"summary": "fix", "steps": ["a"'
- text: '{"summary": "fix", "steps": ["a"]}'
`, true, "not valid JSON"},
		{"failed validation repaired", `
- text: '{"summary": "fix", "steps": []}'
- text: '{"summary": "fix", "steps": ["a"]}'
`, true, "steps must not be empty"},
		{"twice invalid", `
- text: 'I cannot do that.'
- text: 'Still no JSON.'
`, false, "contains no JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := &spy{next: script(t, tc.answers)}
			var out plan
			res, err := llm.AskJSON(context.Background(), llm.Query{Model: model(p), Prompt: "ticket"}, &out)
			g.Expect(res.Calls).To(Equal(2))
			g.Expect(res.Repaired).To(BeTrue())
			repair := p.requests[1].Messages
			g.Expect(repair).To(HaveLen(3))
			g.Expect(repair[2].Text).To(ContainSubstring(tc.problem))
			if tc.ok {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(out.Steps).To(Equal([]string{"a"}))
				return
			}
			var invalid *llm.InvalidJSONError
			g.Expect(errors.As(err, &invalid)).To(BeTrue())
			g.Expect(invalid.Text).To(Equal("Still no JSON."))
			g.Expect(out).To(Equal(plan{}), "nothing of a rejected answer is kept")
		})
	}
}

func TestAskJSONIsAccountedAndCapped(t *testing.T) {
	g := NewWithT(t)
	m := model(script(t, "- text: '{\"steps\": [\"a\"]}'\n  usage: {input_tokens: 100, output_tokens: 10}\n"))
	m.Price = llm.PriceFor(pricedAt, "test-model")
	budget := llm.NewBudget(10, 0)
	var out plan
	res, err := llm.AskJSON(context.Background(), llm.Query{Model: m, Budget: budget, Phase: "review", Prompt: "diff"}, &out)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.CostUSD).To(BeNumerically("~", 0.12, 1e-9))
	g.Expect(budget.Report().Phases[0].Phase).To(Equal("review"))

	_, err = llm.AskJSON(context.Background(), llm.Query{Model: m, Budget: llm.NewBudget(0.000001, 0), Prompt: "diff"}, &out)
	g.Expect(errors.Is(err, llm.ErrBudgetExhausted)).To(BeTrue())
}

// escapeYAML doubles single quotes for a single-quoted YAML scalar.
func escapeYAML(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\'' {
			out = append(out, '\'')
		}
		out = append(out, r)
	}
	return string(out)
}
