package githubfake

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

type repo struct {
	id            int64
	owner, name   string
	defaultBranch string
	branches      map[string]bool
	labels        map[string]*label // by lower-case name
	issues        map[int]*issue
	comments      map[int64]*comment
	pulls         map[int]*pull
	nextNumber    int
	noDrafts      bool
}

type label struct {
	id          int64
	name, color string
	description string
}

type issue struct {
	id                 int64
	number             int
	title, body, state string
	stateReason        string
	labels             []*label
	author             User
	association        string
	assignee           string
	comments           []int64
	isPull             bool
	created, updated   time.Time
	closed             time.Time
}

type comment struct {
	id               int64
	issue            int
	body             string
	author           User
	association      string
	created, updated time.Time
}

type pull struct {
	number     int
	head, base string
	draft      bool
}

type issueKey struct {
	repo   string
	number int
}

// User is a GitHub account as payloads show it.
type User struct {
	Login string
	// Bot marks an app or bot account (type "Bot").
	Bot bool
}

// The author associations GitHub reports.
const (
	AssociationOwner        = "OWNER"
	AssociationMember       = "MEMBER"
	AssociationCollaborator = "COLLABORATOR"
	AssociationContributor  = "CONTRIBUTOR"
	AssociationNone         = "NONE"
)

// AddRepo creates a repository owner/name with its default branch.
func (s *Server) AddRepo(fullName, defaultBranch string) {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok {
		panic("githubfake: repo name must be owner/name, got " + fullName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[strings.ToLower(fullName)] = &repo{
		id: s.newID(), owner: owner, name: name, defaultBranch: defaultBranch,
		branches: map[string]bool{defaultBranch: true}, labels: map[string]*label{},
		issues: map[int]*issue{}, comments: map[int64]*comment{}, pulls: map[int]*pull{},
	}
}

// SetRepoID gives a repository the id GitHub gave it elsewhere (a
// recorded payload's repository.id), as one that was renamed keeps it.
func (s *Server) SetRepoID(fullName string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(fullName).id = id
}

// CreateBranch adds a branch to a repository.
func (s *Server) CreateBranch(fullName, branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(fullName).branches[branch] = true
}

// DisableDrafts makes the repository refuse draft pull requests, as GitHub
// does for private repositories on plans without them.
func (s *Server) DisableDrafts(fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(fullName).noDrafts = true
}

// NewIssue is an issue to seed.
type NewIssue struct {
	Title, Body string
	Labels      []string
	// State is "open" (default) or "closed".
	State  string
	Author User
	// Association is the author's author_association (default OWNER).
	Association string
	Assignee    string
	// PullRequest makes the item a pull request as the issues API shows it.
	PullRequest bool
}

// CreateIssue adds an issue and returns its number. Labels that do not
// exist yet are created, as GitHub does when labels are added to an issue.
func (s *Server) CreateIssue(fullName string, in NewIssue) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	r.nextNumber++
	now := time.Now().UTC().Truncate(time.Second)
	is := &issue{
		id: s.newID(), number: r.nextNumber, title: in.Title, body: in.Body, state: "open",
		author: in.Author, association: in.Association, assignee: in.Assignee,
		isPull: in.PullRequest, created: now, updated: now,
	}
	if is.author.Login == "" {
		is.author.Login = "octocat"
	}
	if is.association == "" {
		is.association = AssociationOwner
	}
	if in.State == "closed" {
		is.state, is.stateReason, is.closed = "closed", "completed", now
	}
	for _, name := range in.Labels {
		s.attachLabel(r, is, name)
	}
	r.issues[is.number] = is
	return is.number
}

// AddComment adds a comment to an issue as author with the given
// author_association and returns its id.
func (s *Server) AddComment(fullName string, number int, body string, author User, association string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	return s.addComment(r, s.mustIssue(r, number), body, author, association).id
}

// AddLabels adds labels to an issue, as another user editing it would.
func (s *Server) AddLabels(fullName string, number int, labels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	is := s.mustIssue(r, number)
	for _, name := range labels {
		s.attachLabel(r, is, name)
	}
	is.updated = time.Now().UTC()
}

// RemoveLabel takes a label off an issue, as another user editing it
// would; an issue without it is left alone.
func (s *Server) RemoveLabel(fullName string, number int, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(s.mustRepo(fullName), number)
	is.labels = slices.DeleteFunc(is.labels, func(l *label) bool { return strings.EqualFold(l.name, name) })
	is.updated = time.Now().UTC()
}

// CloseIssue closes an issue as completed, as another user would.
func (s *Server) CloseIssue(fullName string, number int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(s.mustRepo(fullName), number)
	is.state, is.stateReason = "closed", "completed"
	is.updated = time.Now().UTC()
	is.closed = is.updated
}

// EditBody replaces an issue's body, as its author editing it would.
func (s *Server) EditBody(fullName string, number int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(s.mustRepo(fullName), number)
	is.body, is.updated = body, time.Now().UTC()
}

// OnNextLabelWrite runs fn once, just before the next request that changes
// the labels of an issue is applied (fn may call the Server). It is how a
// test makes another client's edit land in the middle of a label update.
func (s *Server) OnNextLabelWrite(fullName string, number int, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := issueKey{strings.ToLower(fullName), number}
	s.labelHooks[k] = append(s.labelHooks[k], fn)
}

// Issue is an issue as the fake holds it.
type Issue struct {
	Number        int
	Title, Body   string
	State         string
	StateReason   string
	Labels        []string
	Author        string
	Assignee      string
	Comments      []Comment
	IsPullRequest bool
	// UpdatedAt is updated_at as the API shows it (whole seconds).
	UpdatedAt time.Time
}

// Comment is an issue comment as the fake holds it.
type Comment struct {
	ID          int64
	Body        string
	Author      string
	Association string
}

// Issue returns issue number of a repository.
func (s *Server) Issue(fullName string, number int) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	is, ok := r.issues[number]
	if !ok {
		return Issue{}, false
	}
	out := Issue{Number: is.number, Title: is.title, Body: is.body, State: is.state, StateReason: is.stateReason,
		Author: is.author.Login, Assignee: is.assignee, IsPullRequest: is.isPull, UpdatedAt: is.updated.Truncate(time.Second)}
	for _, l := range is.labels {
		out.Labels = append(out.Labels, l.name)
	}
	for _, id := range is.comments {
		c := r.comments[id]
		out.Comments = append(out.Comments, Comment{ID: c.id, Body: c.body, Author: c.author.Login, Association: c.association})
	}
	return out, true
}

// PullRequest is a pull request as the fake holds it.
type PullRequest struct {
	Number                  int
	Title, Body, Head, Base string
	State                   string
	Draft                   bool
}

// PullRequest returns pull request number of a repository.
func (s *Server) PullRequest(fullName string, number int) (PullRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(fullName)
	p, ok := r.pulls[number]
	if !ok {
		return PullRequest{}, false
	}
	is := r.issues[number]
	return PullRequest{Number: number, Title: is.title, Body: is.body, Head: p.head, Base: p.base, State: is.state, Draft: p.draft}, true
}

// PullRequests lists the repository's pull requests by number.
func (s *Server) PullRequests(fullName string) []PullRequest {
	s.mu.Lock()
	numbers := make([]int, 0)
	for n := range s.mustRepo(fullName).pulls {
		numbers = append(numbers, n)
	}
	s.mu.Unlock()
	slices.Sort(numbers)
	out := make([]PullRequest, 0, len(numbers))
	for _, n := range numbers {
		p, _ := s.PullRequest(fullName, n)
		out = append(out, p)
	}
	return out
}

// Label colors as the fake holds them, by name; for checking that labels
// were created with a color.
func (s *Server) Labels(fullName string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, l := range s.mustRepo(fullName).labels {
		out[l.name] = l.color
	}
	return out
}

func (s *Server) mustRepo(fullName string) *repo {
	r, ok := s.repos[strings.ToLower(fullName)]
	if !ok {
		panic(fmt.Sprintf("githubfake: no repository %s (AddRepo first)", fullName))
	}
	return r
}

func (s *Server) mustIssue(r *repo, number int) *issue {
	is, ok := r.issues[number]
	if !ok {
		panic(fmt.Sprintf("githubfake: no issue %s/%s#%d", r.owner, r.name, number))
	}
	return is
}

// repoLabel returns the repository's label name, creating it with GitHub's
// default grey when it does not exist.
func (s *Server) repoLabel(r *repo, name string) *label {
	if l, ok := r.labels[strings.ToLower(name)]; ok {
		return l
	}
	l := &label{id: s.newID(), name: name, color: "ededed"}
	r.labels[strings.ToLower(name)] = l
	return l
}

func (s *Server) attachLabel(r *repo, is *issue, name string) {
	l := s.repoLabel(r, name)
	if !slices.Contains(is.labels, l) {
		is.labels = append(is.labels, l)
	}
}

func (s *Server) addComment(r *repo, is *issue, body string, author User, association string) *comment {
	now := time.Now().UTC().Truncate(time.Second)
	c := &comment{id: s.newID(), issue: is.number, body: body, author: author, association: association, created: now, updated: now}
	r.comments[c.id] = c
	is.comments = append(is.comments, c.id)
	is.updated = now
	return c
}

// takeLabelHooks removes and returns the hooks waiting on an issue.
func (s *Server) takeLabelHooks(r *repo, number int) []func() {
	k := issueKey{strings.ToLower(r.owner + "/" + r.name), number}
	hooks := s.labelHooks[k]
	delete(s.labelHooks, k)
	return hooks
}
