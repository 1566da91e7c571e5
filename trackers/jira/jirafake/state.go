package jirafake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/trackers/jira/internal/adf"
)

type project struct {
	id, key, name string
	nextNumber    int
}

type issue struct {
	id, key          string
	project          *project
	summary          string
	description      json.RawMessage // ADF, or nil
	status           string
	labels           []string
	assignee         *User
	reporter         User
	comments         []*comment
	created, updated time.Time
}

type comment struct {
	id               string
	author           User
	body             json.RawMessage // ADF
	created, updated time.Time
}

// AddProject creates a project with its key (SHOP) and name.
func (s *Server) AddProject(key, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects[strings.ToUpper(key)] = &project{id: s.newID(), key: strings.ToUpper(key), name: name}
}

// NewIssue is an issue to seed.
type NewIssue struct {
	Summary string
	// Description is plain text, stored as an ADF document.
	Description string
	Labels      []string
	// Status defaults to the workflow's first status.
	Status   string
	Assignee *User
	Reporter User
}

// CreateIssue adds an issue to a project and returns its key.
func (s *Server) CreateIssue(projectKey string, in NewIssue) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[strings.ToUpper(projectKey)]
	if !ok {
		panic("jirafake: no project " + projectKey + " (AddProject first)")
	}
	p.nextNumber++
	now := s.now()
	is := &issue{
		id: s.newID(), key: p.key + "-" + strconv.Itoa(p.nextNumber), project: p,
		summary: in.Summary, status: s.statuses[0].Name, labels: slices.Clone(in.Labels),
		reporter: in.Reporter, created: now, updated: now,
	}
	if in.Description != "" {
		is.description = mustADF(in.Description)
	}
	if in.Status != "" {
		is.status = s.mustStatus(in.Status).Name
	}
	if in.Assignee != nil {
		u := s.known(*in.Assignee)
		is.assignee = &u
	}
	if is.reporter.AccountID == "" {
		is.reporter = User{AccountID: "557058:reporter", DisplayName: "Rita Reporter"}
	}
	is.reporter = s.known(is.reporter)
	s.issues[is.key] = is
	return is.key
}

// AddComment adds a comment with a plain-text body to an issue, as author,
// and returns its id.
func (s *Server) AddComment(key, body string, author User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(key)
	return s.addComment(is, mustADF(body), s.known(author)).id
}

// AddLabels adds labels to an issue, as another user editing it would.
func (s *Server) AddLabels(key string, labels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(key)
	for _, l := range labels {
		if !slices.Contains(is.labels, l) {
			is.labels = append(is.labels, l)
		}
	}
	is.updated = s.now()
}

// RemoveLabels takes labels off an issue, as another user editing it
// would.
func (s *Server) RemoveLabels(key string, labels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(key)
	is.labels = slices.DeleteFunc(is.labels, func(l string) bool { return slices.Contains(labels, l) })
	is.updated = s.now()
}

// Assign makes u the assignee of an issue; nil unassigns it.
func (s *Server) Assign(key string, u *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(key)
	is.assignee = nil
	if u != nil {
		k := s.known(*u)
		is.assignee = &k
	}
	is.updated = s.now()
}

// SetStatus moves an issue to a status without a transition, as an
// administrator's bulk change would.
func (s *Server) SetStatus(key, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustIssue(key).status = s.mustStatus(status).Name
}

// OnNextLabelWrite runs fn once, just before the next request that edits
// the issue is applied (fn may call the Server). It is how a test makes
// another client's edit land in the middle of a label update.
func (s *Server) OnNextLabelWrite(key string, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.labelHooks[key] = append(s.labelHooks[key], fn)
}

// Issue is an issue as the fake holds it.
type Issue struct {
	ID, Key, Summary string
	// Description is the ADF description rendered as plain text.
	Description string
	Status      string
	Labels      []string
	// Assignee is the assignee's display name, "" when unassigned.
	Assignee string
	Comments []Comment
}

// Comment is a comment as the fake holds it.
type Comment struct {
	ID     string
	Author User
	// Body is the ADF body rendered as plain text; ADF is the document.
	Body string
	ADF  json.RawMessage
}

// Issue returns an issue by key.
func (s *Server) Issue(key string) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, ok := s.issues[key]
	if !ok {
		return Issue{}, false
	}
	out := Issue{ID: is.id, Key: is.key, Summary: is.summary, Description: text(is.description), Status: is.status,
		Labels: slices.Clone(is.labels)}
	if is.assignee != nil {
		out.Assignee = is.assignee.DisplayName
	}
	for _, c := range is.comments {
		out.Comments = append(out.Comments, Comment{ID: c.id, Author: c.author, Body: text(c.body), ADF: slices.Clone(c.body)})
	}
	return out, true
}

func (s *Server) addComment(is *issue, body json.RawMessage, author User) *comment {
	now := s.now()
	c := &comment{id: s.newID(), author: author, body: body, created: now, updated: now}
	is.comments = append(is.comments, c)
	is.updated = now
	return c
}

// known registers a user the first time the fake sees it.
func (s *Server) known(u User) User {
	if u.AccountID == "" {
		panic("jirafake: users need an AccountID")
	}
	if have, ok := s.users[u.AccountID]; ok {
		return have
	}
	s.addUser(u)
	return s.users[u.AccountID]
}

func (s *Server) mustIssue(key string) *issue {
	is, ok := s.issues[key]
	if !ok {
		panic("jirafake: no issue " + key)
	}
	return is
}

func (s *Server) mustStatus(name string) Status {
	st, ok := s.status(name)
	if !ok {
		panic(fmt.Sprintf("jirafake: no status %q in the workflow", name))
	}
	return st
}

func (s *Server) status(name string) (Status, bool) {
	for _, st := range s.statuses {
		if strings.EqualFold(st.Name, name) {
			return st, true
		}
	}
	return Status{}, false
}

// lookup finds an issue by key or id.
func (s *Server) lookup(idOrKey string) (*issue, bool) {
	if is, ok := s.issues[strings.ToUpper(idOrKey)]; ok {
		return is, true
	}
	for _, is := range s.issues {
		if is.id == idOrKey {
			return is, true
		}
	}
	return nil, false
}

// available lists the transitions an issue can take now.
func (s *Server) available(is *issue) []Transition {
	var out []Transition
	for _, t := range s.transitions {
		if strings.EqualFold(t.To, is.status) {
			continue
		}
		if len(t.From) > 0 && !slices.ContainsFunc(t.From, func(f string) bool { return strings.EqualFold(f, is.status) }) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// takeLabelHooks removes and returns the hooks waiting on an issue.
func (s *Server) takeLabelHooks(key string) []func() {
	hooks := s.labelHooks[key]
	delete(s.labelHooks, key)
	return hooks
}

func mustADF(text string) json.RawMessage {
	raw, err := json.Marshal(adf.FromText(text))
	if err != nil {
		panic("jirafake: " + err.Error())
	}
	return raw
}

// text renders a stored ADF document as plain text.
func text(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var n adf.Node
	if err := json.Unmarshal(raw, &n); err != nil {
		return ""
	}
	return adf.Text(n)
}
