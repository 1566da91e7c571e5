package gitlabfake

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The access levels of GitLab's roles, as the members API reports them.
const (
	AccessGuest      = 10
	AccessPlanner    = 15
	AccessReporter   = 20
	AccessDeveloper  = 30
	AccessMaintainer = 40
	AccessOwner      = 50
)

type user struct {
	id       int64
	username string
	name     string
	admin    bool
	// bot marks the user of a project or group access token.
	bot bool
}

type project struct {
	id            int64
	path          string // namespace/name as created
	defaultBranch string
	branches      map[string]bool
	labels        map[string]*label // by lower-case name
	members       map[int64]int     // user id → access level
	issues        map[int]*issue
	mrs           map[int]*mergeRequest
	notes         map[int64]*note
	nextIssue     int
	nextMR        int
}

type label struct {
	id                 int64
	name, color, descr string
}

type issue struct {
	id                 int64
	iid                int
	title, description string
	state              string // opened, closed
	labels             []*label
	author             int64
	assignees          []int64
	confidential       bool
	notes              []int64
	created, updated   time.Time
	closed             time.Time
}

type mergeRequest struct {
	id                 int64
	iid                int
	title, description string
	source, target     string
	state              string // opened, closed, merged
	author             int64
	notes              []int64
	created, updated   time.Time
}

type note struct {
	id       int64
	body     string
	author   int64
	system   bool
	internal bool
	// noteableType is Issue or MergeRequest; noteableIID its iid.
	noteableType     string
	noteableIID      int
	created, updated time.Time
}

type issueKey struct {
	project string
	iid     int
}

// draftTitle matches the title prefixes that make a merge request a draft.
var draftTitle = regexp.MustCompile(`(?i)^\s*(\[draft\]|\(draft\)|draft:)`)

// AddUser creates a user (or finds the one of that name) and returns its
// id.
func (s *Server) AddUser(username string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUser(username).id
}

func (s *Server) addUser(username string) *user {
	for _, u := range s.users {
		if strings.EqualFold(u.username, username) {
			return u
		}
	}
	u := &user{id: s.newID(), username: username, name: username}
	s.users[u.id] = u
	return u
}

func (s *Server) mustUser(username string) *user {
	for _, u := range s.users {
		if strings.EqualFold(u.username, username) {
			return u
		}
	}
	panic("gitlabfake: no user " + username)
}

// AddProject creates a project at path (namespace/name, subgroups
// allowed) with its default branch and returns its id.
func (s *Server) AddProject(path, defaultBranch string) int64 {
	if !strings.Contains(path, "/") {
		panic("gitlabfake: project path must be namespace/name, got " + path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &project{
		id: s.newID(), path: path, defaultBranch: defaultBranch,
		branches: map[string]bool{defaultBranch: true}, labels: map[string]*label{}, members: map[int64]int{},
		issues: map[int]*issue{}, mrs: map[int]*mergeRequest{}, notes: map[int64]*note{},
	}
	s.projects[strings.ToLower(path)] = p
	return p.id
}

// SetProjectID gives a project the id GitLab gave it elsewhere (a
// recorded payload's project.id), as one that was renamed or moved keeps
// it.
func (s *Server) SetProjectID(path string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[strings.ToLower(path)]
	if !ok {
		panic("gitlabfake: no project " + path)
	}
	p.id = id
}

// AddMember makes the user called username a member of the project with
// the access level (AccessDeveloper, …); a second call changes the level.
func (s *Server) AddMember(path, username string, level int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustProject(path).members[s.mustUser(username).id] = level
}

// RemoveMember takes the user's membership away.
func (s *Server) RemoveMember(path, username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mustProject(path).members, s.mustUser(username).id)
}

// CreateBranch adds a branch to a project's repository.
func (s *Server) CreateBranch(path, branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustProject(path).branches[branch] = true
}

// NewIssue is an issue to seed.
type NewIssue struct {
	Title, Description string
	Labels             []string
	// State is "opened" (default) or "closed".
	State string
	// Author is a username (default root).
	Author       string
	Assignees    []string
	Confidential bool
}

// CreateIssue adds an issue and returns its iid. Labels that do not exist
// yet are created, as GitLab does when an issue is labeled with them.
func (s *Server) CreateIssue(path string, in NewIssue) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(path)
	p.nextIssue++
	now := time.Now().UTC().Truncate(time.Millisecond)
	author := "root"
	if in.Author != "" {
		author = in.Author
	}
	is := &issue{id: s.newID(), iid: p.nextIssue, title: in.Title, description: in.Description, state: "opened",
		author: s.mustUser(author).id, confidential: in.Confidential, created: now, updated: now}
	for _, a := range in.Assignees {
		is.assignees = append(is.assignees, s.mustUser(a).id)
	}
	if in.State == "closed" {
		is.state, is.closed = "closed", now
	}
	for _, name := range in.Labels {
		s.attachLabel(p, is, name)
	}
	p.issues[is.iid] = is
	return is.iid
}

// AddLabels adds labels to an issue, as another user editing it would
// (with the system notes GitLab writes).
func (s *Server) AddLabels(path string, iid int, labels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(path)
	is := s.mustIssue(p, iid)
	for _, name := range labels {
		if l := s.attachLabel(p, is, name); l != nil {
			s.systemNote(p, "Issue", iid, fmt.Sprintf("added ~%d label", l.id))
		}
	}
}

// RemoveLabels takes labels off an issue, as another user editing it
// would (with the system notes GitLab writes).
func (s *Server) RemoveLabels(path string, iid int, labels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(path)
	is := s.mustIssue(p, iid)
	for _, name := range labels {
		i := slices.IndexFunc(is.labels, func(l *label) bool { return strings.EqualFold(l.name, name) })
		if i < 0 {
			continue
		}
		s.systemNote(p, "Issue", iid, fmt.Sprintf("removed ~%d label", is.labels[i].id))
		is.labels = slices.Delete(is.labels, i, i+1)
	}
	is.updated = time.Now().UTC().Truncate(time.Millisecond)
}

// CloseIssue closes an issue, as another user would.
func (s *Server) CloseIssue(path string, iid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(s.mustProject(path), iid)
	is.updated = time.Now().UTC().Truncate(time.Millisecond)
	is.state, is.closed = "closed", is.updated
}

// AddNote adds a note by the user called username to an issue and returns
// its id.
func (s *Server) AddNote(path string, iid int, body, username string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(path)
	is := s.mustIssue(p, iid)
	n := s.addNote(p, "Issue", iid, body, s.mustUser(username).id, false)
	is.notes = append(is.notes, n.id)
	return n.id
}

// OpenMergeRequest seeds an open merge request (for merge request notes)
// and returns its iid.
func (s *Server) OpenMergeRequest(path, source, target, title string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(path)
	p.branches[source] = true
	return s.openMR(p, title, "", source, target, s.mustUser("root").id).iid
}

// AddMergeRequestNote adds a note to a merge request and returns its id.
func (s *Server) AddMergeRequestNote(path string, iid int, body, username string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(path)
	mr, ok := p.mrs[iid]
	if !ok {
		panic(fmt.Sprintf("gitlabfake: no merge request %s!%d", path, iid))
	}
	n := s.addNote(p, "MergeRequest", iid, body, s.mustUser(username).id, false)
	mr.notes = append(mr.notes, n.id)
	return n.id
}

// OnNextLabelWrite runs fn once, just before the next request that edits
// the issue (PUT …/issues/:iid) is applied; fn may call the Server. It is
// how a test makes another client's edit land in the middle of an update.
func (s *Server) OnNextLabelWrite(path string, iid int, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := issueKey{strings.ToLower(path), iid}
	s.labelHooks[k] = append(s.labelHooks[k], fn)
}

// Issue is an issue as the fake holds it.
type Issue struct {
	IID                int
	Title, Description string
	State              string
	Labels             []string
	Author             string
	Notes              []Note
}

// Note is a note as the fake holds it.
type Note struct {
	ID     int64
	Body   string
	Author string
	System bool
}

// Issue returns issue iid of a project.
func (s *Server) Issue(path string, iid int) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(path)
	is, ok := p.issues[iid]
	if !ok {
		return Issue{}, false
	}
	out := Issue{IID: is.iid, Title: is.title, Description: is.description, State: is.state,
		Labels: labelNames(is.labels), Author: s.users[is.author].username}
	for _, id := range is.notes {
		n := p.notes[id]
		out.Notes = append(out.Notes, Note{ID: n.id, Body: n.body, Author: s.users[n.author].username, System: n.system})
	}
	return out, true
}

// MergeRequest is a merge request as the fake holds it.
type MergeRequest struct {
	IID                int
	Title, Description string
	Source, Target     string
	State              string
	// Draft is what GitLab derives from the title's Draft: prefix.
	Draft bool
}

// MergeRequest returns merge request iid of a project.
func (s *Server) MergeRequest(path string, iid int) (MergeRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mr, ok := s.mustProject(path).mrs[iid]
	if !ok {
		return MergeRequest{}, false
	}
	return MergeRequest{IID: mr.iid, Title: mr.title, Description: mr.description, Source: mr.source,
		Target: mr.target, State: mr.state, Draft: draftTitle.MatchString(mr.title)}, true
}

// MergeRequests lists a project's merge requests by iid.
func (s *Server) MergeRequests(path string) []MergeRequest {
	s.mu.Lock()
	var iids []int
	for iid := range s.mustProject(path).mrs {
		iids = append(iids, iid)
	}
	s.mu.Unlock()
	slices.Sort(iids)
	out := make([]MergeRequest, 0, len(iids))
	for _, iid := range iids {
		mr, _ := s.MergeRequest(path, iid)
		out = append(out, mr)
	}
	return out
}

// Labels are the project's labels as name → color (#rrggbb).
func (s *Server) Labels(path string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, l := range s.mustProject(path).labels {
		out[l.name] = l.color
	}
	return out
}

func (s *Server) mustProject(path string) *project {
	p, ok := s.projects[strings.ToLower(path)]
	if !ok {
		panic(fmt.Sprintf("gitlabfake: no project %s (AddProject first)", path))
	}
	return p
}

func (s *Server) mustIssue(p *project, iid int) *issue {
	is, ok := p.issues[iid]
	if !ok {
		panic(fmt.Sprintf("gitlabfake: no issue %s#%d", p.path, iid))
	}
	return is
}

// projectLabel returns the project's label name, creating it with
// GitLab's default color when it does not exist.
func (s *Server) projectLabel(p *project, name string) *label {
	if l, ok := p.labels[strings.ToLower(name)]; ok {
		return l
	}
	l := &label{id: s.newID(), name: name, color: "#6699cc"}
	p.labels[strings.ToLower(name)] = l
	return l
}

// attachLabel puts a label on an issue and returns it, or nil when the
// issue already carried it.
func (s *Server) attachLabel(p *project, is *issue, name string) *label {
	l := s.projectLabel(p, name)
	if slices.Contains(is.labels, l) {
		return nil
	}
	is.labels = append(is.labels, l)
	is.updated = time.Now().UTC().Truncate(time.Millisecond)
	return l
}

// detachLabel takes a label off an issue and returns it, or nil when the
// issue did not carry it.
func (s *Server) detachLabel(is *issue, name string) *label {
	i := slices.IndexFunc(is.labels, func(l *label) bool { return strings.EqualFold(l.name, name) })
	if i < 0 {
		return nil
	}
	l := is.labels[i]
	is.labels = slices.Delete(is.labels, i, i+1)
	is.updated = time.Now().UTC().Truncate(time.Millisecond)
	return l
}

func (s *Server) addNote(p *project, noteableType string, iid int, body string, author int64, system bool) *note {
	now := time.Now().UTC().Truncate(time.Millisecond)
	n := &note{id: s.newID(), body: body, author: author, system: system, noteableType: noteableType,
		noteableIID: iid, created: now, updated: now}
	p.notes[n.id] = n
	return n
}

// systemNote records a change the way GitLab shows it in the activity.
func (s *Server) systemNote(p *project, noteableType string, iid int, body string) {
	n := s.addNote(p, noteableType, iid, body, s.mustUser("root").id, true)
	if noteableType == "Issue" {
		is := p.issues[iid]
		is.notes = append(is.notes, n.id)
	}
}

func (s *Server) openMR(p *project, title, description, source, target string, author int64) *mergeRequest {
	p.nextMR++
	now := time.Now().UTC().Truncate(time.Millisecond)
	mr := &mergeRequest{id: s.newID(), iid: p.nextMR, title: title, description: description, source: source,
		target: target, state: "opened", author: author, created: now, updated: now}
	p.mrs[mr.iid] = mr
	return mr
}

// takeLabelHooks removes and returns the hooks waiting on an issue.
func (s *Server) takeLabelHooks(p *project, iid int) []func() {
	k := issueKey{strings.ToLower(p.path), iid}
	hooks := s.labelHooks[k]
	delete(s.labelHooks, k)
	return hooks
}

func labelNames(ls []*label) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.name)
	}
	return out
}
