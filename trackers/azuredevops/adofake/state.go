package adofake

import (
	"html"
	"slices"
	"strings"
	"time"
)

type project struct {
	id    string
	name  string
	repos map[string]*repo // by lower-case name
}

type repo struct {
	id            string
	name          string
	defaultBranch string
	branches      map[string]bool // full ref names
	pulls         map[int]*PullRequest
}

// WorkItem is a work item as the fake holds it.
type WorkItem struct {
	ID      int
	Rev     int
	Project string
	Type    string
	Title   string
	// Description is HTML, or Markdown when DescriptionMarkdown is set.
	Description         string
	DescriptionMarkdown bool
	State               string
	AreaPath            string
	Tags                []string
	AssignedTo          *Identity
	CreatedBy           Identity
	CreatedDate         time.Time
	ChangedBy           Identity
	ChangedDate         time.Time
	Comments            []Comment
}

// Comment is a work item comment.
type Comment struct {
	ID int
	// Text is HTML, or Markdown when Format is "markdown".
	Text         string
	Format       string
	CreatedBy    Identity
	CreatedDate  time.Time
	ModifiedDate time.Time
	Version      int
	Deleted      bool
}

// PullRequest is a pull request as the fake holds it.
type PullRequest struct {
	ID                   int
	SourceRef, TargetRef string
	Title, Description   string
	Draft                bool
	// Status is active, abandoned or completed.
	Status       string
	WorkItems    []string
	CreatedBy    Identity
	CreationDate time.Time
}

// NewWorkItem is a work item to create.
type NewWorkItem struct {
	Project string
	// Type defaults to "Bug".
	Type  string
	Title string
	// Description is HTML unless DescriptionMarkdown is set.
	Description         string
	DescriptionMarkdown bool
	// State defaults to the first state of the type.
	State string
	// AreaPath defaults to the project.
	AreaPath   string
	Tags       []string
	AssignedTo *Identity
	// CreatedBy defaults to Agent.
	CreatedBy Identity
}

// AddProject creates a project.
func (s *Server) AddProject(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projectLocked(name)
}

func (s *Server) projectLocked(name string) *project {
	key := strings.ToLower(name)
	if p, ok := s.projects[key]; ok {
		return p
	}
	p := &project{id: guid(1, s.newID()), name: name, repos: map[string]*repo{}}
	s.projects[key] = p
	return p
}

// CreateWorkItem adds a work item (creating its project if needed) and
// returns its id. Ids are unique across the organization.
func (s *Server) CreateWorkItem(nw NewWorkItem) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(nw.Project)
	typ := nw.Type
	if typ == "" {
		typ = "Bug"
	}
	state := nw.State
	if state == "" {
		if st := s.states[strings.ToLower(typ)]; len(st) > 0 {
			state = st[0]
		}
	}
	area := nw.AreaPath
	if area == "" {
		area = p.name
	}
	by := nw.CreatedBy
	if by == (Identity{}) {
		by = Agent
	}
	now := timeNow()
	id := s.newID()
	s.items[id] = &WorkItem{
		ID: id, Rev: 1, Project: p.name, Type: typ, Title: nw.Title, Description: nw.Description,
		DescriptionMarkdown: nw.DescriptionMarkdown, State: state, AreaPath: area, Tags: slices.Clone(nw.Tags),
		AssignedTo: nw.AssignedTo, CreatedBy: by, CreatedDate: now, ChangedBy: by, ChangedDate: now,
	}
	return id
}

// WorkItem returns a copy of work item id.
func (s *Server) WorkItem(id int) (WorkItem, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[id]
	if !ok {
		return WorkItem{}, false
	}
	return snapshot(it), true
}

func snapshot(it *WorkItem) WorkItem {
	w := *it
	w.Tags = slices.Clone(w.Tags)
	w.Comments = slices.Clone(w.Comments)
	return w
}

// Change is an edit a person makes to a work item (see Update).
type Change func(w *WorkItem)

// AddTags adds tags the work item does not carry yet.
func AddTags(tags ...string) Change {
	return func(w *WorkItem) { w.Tags = mergeTags(w.Tags, tags) }
}

// RemoveTags takes tags off.
func RemoveTags(tags ...string) Change {
	return func(w *WorkItem) {
		w.Tags = slices.DeleteFunc(w.Tags, func(t string) bool { return containsFold(tags, t) })
	}
}

// SetState moves the work item to state.
func SetState(state string) Change { return func(w *WorkItem) { w.State = state } }

// SetTitle renames the work item.
func SetTitle(title string) Change { return func(w *WorkItem) { w.Title = title } }

// SetAreaPath moves the work item to another area.
func SetAreaPath(area string) Change { return func(w *WorkItem) { w.AreaPath = area } }

// Update applies changes to work item id as by would in the web UI (one
// new revision) and returns the workitem.updated delivery Azure DevOps
// sends for it. It panics on an unknown id: tests name work items they
// created.
func (s *Server) Update(id int, by Identity, changes ...Change) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.mustItem(id)
	before := hookFields(*it)
	for _, c := range changes {
		c(it)
	}
	s.revise(it, by)
	return s.updatedEvent(it, by, before)
}

func (s *Server) mustItem(id int) *WorkItem {
	it, ok := s.items[id]
	if !ok {
		panic("adofake: no work item " + itoa(id))
	}
	return it
}

// revise records a new revision of it by by.
func (s *Server) revise(it *WorkItem, by Identity) {
	it.Rev++
	it.ChangedBy = by
	it.ChangedDate = timeNow()
}

// AddComment adds an HTML comment by by to work item id, as the web UI
// does (a new revision), and returns its id.
func (s *Server) AddComment(id int, text string, by Identity) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addCommentLocked(s.mustItem(id), text, "html", by).ID
}

func (s *Server) addCommentLocked(it *WorkItem, text, format string, by Identity) Comment {
	now := timeNow()
	c := Comment{ID: s.newID(), Text: text, Format: format, CreatedBy: by, CreatedDate: now, ModifiedDate: now, Version: 1}
	it.Comments = append(it.Comments, c)
	s.revise(it, by)
	return c
}

// AddRepo creates a Git repository (and its project) with defaultBranch
// ("" for an empty repository).
func (s *Server) AddRepo(projectName, name, defaultBranch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectLocked(projectName)
	r := &repo{id: guid(2, s.newID()), name: name, branches: map[string]bool{}, pulls: map[int]*PullRequest{}}
	if defaultBranch != "" {
		r.defaultBranch = "refs/heads/" + defaultBranch
		r.branches[r.defaultBranch] = true
	}
	p.repos[strings.ToLower(name)] = r
}

// CreateBranch adds a branch to a repository.
func (s *Server) CreateBranch(projectName, repoName, branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repoLocked(projectName, repoName); r != nil {
		r.branches["refs/heads/"+branch] = true
	}
}

// PullRequest returns a copy of pull request id of a repository.
func (s *Server) PullRequest(projectName, repoName string, id int) (PullRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(projectName, repoName)
	if r == nil {
		return PullRequest{}, false
	}
	pr, ok := r.pulls[id]
	if !ok {
		return PullRequest{}, false
	}
	c := *pr
	c.WorkItems = slices.Clone(pr.WorkItems)
	return c, true
}

func (s *Server) repoLocked(projectName, repoName string) *repo {
	p, ok := s.projects[strings.ToLower(projectName)]
	if !ok {
		return nil
	}
	return p.repos[strings.ToLower(repoName)]
}

// mergeTags adds the tags of add that tags lacks, as Azure DevOps does
// with an "add" patch of System.Tags.
func mergeTags(tags, add []string) []string {
	out := slices.Clone(tags)
	for _, t := range add {
		if t = strings.TrimSpace(t); t != "" && !containsFold(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func splitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ";") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// renderMarkdown is the HTML Azure DevOps shows for Markdown text, as far
// as deliveries need it: escaped paragraphs with line breaks.
func renderMarkdown(md string) string {
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = html.EscapeString(l)
	}
	return "<p>" + strings.Join(lines, "<br>") + "</p>"
}
