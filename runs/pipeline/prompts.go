package pipeline

import (
	"fmt"
	"strings"

	"github.com/agent-smith/agent-smith/skills"
	"github.com/agent-smith/agent-smith/trackers"
)

// Caps of the ticket material in prompts.
const (
	ticketBodyCap = 16 << 10
	discussionCap = 12 << 10
)

// input is what the prompt templates are fed at this point of the run,
// with the ticket's text framed under a new nonce.
func (j *job) input() skills.Input { return j.inputWith(j.newFrames()) }

// inputWith is input under frames f: a continued conversation keeps the
// frames its history was rendered with.
func (j *job) inputWith(f frames) skills.Input {
	in := skills.Input{
		Pipeline:       j.run.Pipeline,
		Ticket:         skills.Ticket{ID: j.run.Ticket, Title: f.inline("title", j.ticket.Title), URL: j.ticket.URL},
		MultiRepo:      j.multi(),
		Principles:     j.principles,
		PrinciplesPath: j.project.CodingPrinciplesPath,
		Context:        j.context,
		Discussion:     j.discussion(f),
		Plan:           j.planText,
		Summary:        j.summary,
		DataNonce:      f.nonce,
	}
	if body := head(strings.TrimSpace(j.ticket.Body), ticketBodyCap); body != "" {
		in.Ticket.Body = f.block("body", "", body)
	} else {
		in.Ticket.Body = "(The ticket has no description.)"
	}
	for _, r := range j.repos {
		rp := skills.Repo{Name: r.name, Language: r.language, TestCommand: r.testCommand, Tree: r.tree}
		if j.catalog != nil {
			rp.Notes = j.catalog.Language(r.language)
		}
		in.Repos = append(in.Repos, rp)
	}
	return in
}

// newFrames frames this render: its nonce occurs in no text of the
// ticket.
func (j *job) newFrames() frames {
	texts := []string{j.ticket.Title, j.ticket.Body, j.run.Answer.Text, j.run.Answer.Author}
	for _, c := range j.ticket.Comments {
		texts = append(texts, c.Body, c.Author)
	}
	return newFrames(texts...)
}

// system is the system prompt of a model call: the catalog's, then the
// data rule for in's frames.
func (j *job) system(in skills.Input) (string, error) {
	s, err := j.catalog.Render(skills.System, in)
	if err != nil {
		return "", err
	}
	return s + "\n\n" + dataRule(in.DataNonce), nil
}

// discussion is the ticket's comments, oldest first, each framed; then an
// answer intake recorded that the comments did not show yet. Agent-smith's
// own comments (Own, or a comment id the run recorded) are left out but
// for its questions, shown as asked by agent-smith so the planner sees
// them next to the answers; the comments of people the tracker does not
// trust are left out, and one line says how many. When they are too long
// together the oldest are left out, whole.
func (j *job) discussion(f frames) string {
	var parts []string
	untrusted := 0
	for _, c := range j.ticket.Comments {
		body := strings.TrimSpace(c.Body)
		own := c.Own || (c.ID != "" && (c.ID == j.run.StatusCommentID || c.ID == j.run.QuestionsCommentID))
		switch {
		case body == "":
		case own && (c.ID == j.run.QuestionsCommentID || trackers.MarkedAs(body, "questions")):
			parts = append(parts, f.block("questions", "agent-smith", head(withoutMark(body), discussionCap/2)))
		case own:
		case !c.Trusted:
			untrusted++
		default:
			parts = append(parts, f.block("comment", c.Author, head(body, discussionCap/2)))
		}
	}
	if answer := strings.TrimSpace(j.run.Answer.Text); answer != "" && !j.answerShown(answer) {
		parts = append(parts, f.block("answer", j.run.Answer.Author, head(answer, discussionCap/2)))
	}
	var notes []string
	if untrusted > 0 {
		notes = append(notes, leftOut(untrusted, "by people without write access"))
	}
	total, dropped := 0, 0
	for i := len(parts) - 1; i >= 0; i-- {
		if total += len(parts[i]); total > discussionCap {
			dropped = i + 1
			break
		}
	}
	if dropped > 0 {
		notes = append(notes, leftOut(dropped, "(the oldest) for length"))
	}
	return strings.Join(append(parts[dropped:], notes...), "\n\n")
}

// answerShown reports whether the ticket's comments already show answer
// as a comment the discussion keeps (a trusted person's).
func (j *job) answerShown(answer string) bool {
	for _, c := range j.ticket.Comments {
		if c.Trusted && !c.Own && strings.TrimSpace(c.Body) == answer {
			return true
		}
	}
	return false
}

// leftOut says that n comments were left out of the discussion, and why.
func leftOut(n int, why string) string {
	if n == 1 {
		return "(1 comment " + why + " was left out.)"
	}
	return fmt.Sprintf("(%d comments %s were left out.)", n, why)
}

// withoutMark is an agent-smith comment without its first line's mark.
func withoutMark(body string) string {
	if first, rest, ok := strings.Cut(body, "\n"); ok && trackers.Marked(first) {
		return strings.TrimSpace(rest)
	}
	return body
}
