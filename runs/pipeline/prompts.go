package pipeline

import (
	"fmt"
	"strings"

	"github.com/agent-smith/agent-smith/skills"
)

// Caps of the ticket material in prompts.
const (
	ticketBodyCap = 16 << 10
	discussionCap = 12 << 10
)

// input is what the prompt templates are fed at this point of the run.
func (j *job) input() skills.Input {
	in := skills.Input{
		Pipeline:       j.run.Pipeline,
		Ticket:         skills.Ticket{ID: j.run.Ticket, Title: j.ticket.Title, Body: head(strings.TrimSpace(j.ticket.Body), ticketBodyCap), URL: j.ticket.URL},
		MultiRepo:      j.multi(),
		Principles:     j.principles,
		PrinciplesPath: j.project.CodingPrinciplesPath,
		Context:        j.context,
		Discussion:     j.discussion(),
		Plan:           j.planText,
		Summary:        j.summary,
	}
	if in.Ticket.Body == "" {
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

// ownMarkers start the comments of agent-smith that say nothing the
// planner needs (status, outcome); its questions comments are kept, so the
// planner sees what it asked next to the answers.
var ownMarkers = []string{"<!-- agent-smith:status", "<!-- agent-smith:done", "<!-- agent-smith:failed"}

// discussion is the ticket's comments, oldest first, the newest kept when
// they are too long together; then an answer intake recorded that the
// ticket's comments did not show yet.
func (j *job) discussion() string {
	var parts []string
	for _, c := range j.ticket.Comments {
		body := strings.TrimSpace(c.Body)
		own := false
		for _, m := range ownMarkers {
			own = own || strings.HasPrefix(body, m)
		}
		if own || body == "" {
			continue
		}
		author := c.Author
		if strings.HasPrefix(body, "<!-- agent-smith:questions") {
			author = "agent-smith"
			if _, rest, ok := strings.Cut(body, "-->"); ok {
				body = strings.TrimSpace(rest)
			}
		}
		parts = append(parts, fmt.Sprintf("**%s:** %s", author, body))
	}
	if answer := strings.TrimSpace(j.run.Answer.Text); answer != "" {
		seen := false
		for _, c := range j.ticket.Comments {
			seen = seen || strings.TrimSpace(c.Body) == answer
		}
		if !seen {
			parts = append(parts, fmt.Sprintf("**%s:** %s", j.run.Answer.Author, answer))
		}
	}
	text := strings.Join(parts, "\n\n")
	if len(text) > discussionCap {
		text = tail(text, discussionCap)
	}
	return text
}
