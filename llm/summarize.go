package llm

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
)

const summarizerSystem = `You condense the earlier part of a coding agent's working session so that it can go on without it.
Keep every fact needed to continue: which files were read and what in them matters, which changes were made
(file and what changed), which commands ran and what they showed (failures verbatim when short), open problems,
and decisions with their reasons. Drop pleasantries and repetition. Answer with a bullet list only.`

// Sizes for the text a summarizer reads.
const (
	summaryInputShare = 2 // at most half the summarizer's window
	summaryResultCut  = 1500
	summaryOutputMax  = 2000
)

// summarize writes the summary of dropped turns with the summarization
// model; without one, or when its call fails, the turns are condensed
// mechanically. The call is booked on the run's budget.
func (s *loopState) summarize(ctx context.Context, prior string, dropped []Message) string {
	fallback := strings.TrimSpace(prior + "\n" + digest(dropped))
	m := s.l.Model.Summarizer
	if m == nil || m.Provider == nil {
		return fallback
	}
	text := renderForSummary(prior, dropped)
	if limit := int(float64(m.ContextWindow/summaryInputShare) * bytesPerToken); limit > 0 && len(text) > limit {
		text = truncateMiddle(text, limit)
	}
	req := &Request{System: summarizerSystem, Messages: []Message{UserMessage(text)},
		MaxOutputTokens: positiveMin(m.MaxOutputTokens, summaryOutputMax)}
	resp, rec, err := send(ctx, m, s.budget, s.phase+"/compaction", req, NewEstimator().Request(req))
	if err != nil || strings.TrimSpace(resp.Text) == "" {
		logr.FromContextOrDiscard(ctx).Info("summarizing old turns failed, condensing them instead", "err", fmt.Sprint(err))
		return fallback
	}
	s.res.Usage = s.res.Usage.Add(resp.Usage)
	s.res.CostUSD += rec.CostUSD
	return strings.TrimSpace(resp.Text)
}

// renderForSummary writes turns out as plain text for the summarizer.
func renderForSummary(prior string, msgs []Message) string {
	var b strings.Builder
	if prior != "" {
		fmt.Fprintf(&b, "Summary so far:\n%s\n\n", prior)
	}
	b.WriteString("Turns to condense:\n")
	for i := range msgs {
		m := &msgs[i]
		switch m.Role {
		case RoleUser:
			fmt.Fprintf(&b, "\nUSER: %s\n", truncateMiddle(m.Text, summaryResultCut))
		case RoleAssistant:
			if m.Text != "" {
				fmt.Fprintf(&b, "\nAGENT: %s\n", truncateMiddle(m.Text, summaryResultCut))
			}
			for _, c := range m.ToolCalls {
				fmt.Fprintf(&b, "AGENT CALLS %s %s\n", c.Name, briefArgs(c.Arguments))
			}
		case RoleTool:
			status := "RESULT"
			if m.IsError {
				status = "ERROR"
			}
			fmt.Fprintf(&b, "%s of %s: %s\n", status, m.ToolName, truncateMiddle(m.Text, summaryResultCut))
		}
	}
	return b.String()
}
