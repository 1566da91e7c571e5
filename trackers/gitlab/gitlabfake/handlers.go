package gitlabfake

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

func (s *Server) currentUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[callerOf(r)]
	s.writeJSON(w, http.StatusOK, wireCurrentUser{wireUser: s.wireUser(u.id), Bot: u.bot, IsAdmin: u.admin})
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, p *project) {
	s.writeJSON(w, http.StatusOK, s.wireProject(p))
}

func (s *Server) forbidden(w http.ResponseWriter) {
	s.message(w, http.StatusForbidden, "403 Forbidden")
}

// allowed answers 403 unless the caller has at least level on p.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request, p *project, level int) bool {
	if s.level(r, p) < level {
		s.forbidden(w)
		return false
	}
	return true
}

// input reads the request's parameters, answering 400 when they do not
// parse.
func (s *Server) input(w http.ResponseWriter, r *http.Request) (input, bool) {
	in, err := readInput(r)
	if err != nil {
		s.message(w, http.StatusBadRequest, err.Error())
		return in, false
	}
	return in, true
}

// listIssues is GET /projects/:id/issues: state (opened, closed, all; all
// by default), labels (comma-separated, an issue must carry all of them),
// order_by (created_at, updated_at) and sort (desc by default).
func (s *Server) listIssues(w http.ResponseWriter, r *http.Request, p *project) {
	q := r.URL.Query()
	state := q.Get("state")
	if state != "" && state != "opened" && state != "closed" && state != "all" {
		s.badParam(w, "state does not have a valid value")
		return
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		want = trimAll(strings.Split(l, ","))
	}
	var matched []*issue
	for _, is := range p.issues {
		if state != "" && state != "all" && is.state != state {
			continue
		}
		if !hasAll(is, want) {
			continue
		}
		matched = append(matched, is)
	}
	byUpdated := q.Get("order_by") == "updated_at"
	asc := q.Get("sort") == "asc"
	sort.Slice(matched, func(i, j int) bool {
		a, b := matched[i], matched[j]
		ka, kb := a.created, b.created
		if byUpdated {
			ka, kb = a.updated, b.updated
		}
		less := ka.Before(kb) || (ka.Equal(kb) && a.iid < b.iid)
		if asc {
			return less
		}
		return !less
	})
	from, to := s.page(w, r, len(matched))
	out := make([]wireIssue, 0, to-from)
	for _, is := range matched[from:to] {
		out = append(out, s.wireIssue(p, is))
	}
	s.writeJSON(w, http.StatusOK, out)
}

func hasAll(is *issue, want []string) bool {
	for _, name := range want {
		if !slices.ContainsFunc(is.labels, func(l *label) bool { return strings.EqualFold(l.name, name) }) {
			return false
		}
	}
	return true
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request, p *project, is *issue) {
	s.writeJSON(w, http.StatusOK, s.wireIssue(p, is))
}

// editIssue is PUT /projects/:id/issues/:iid: title, description, labels
// (replaces the set), add_labels, remove_labels and state_event (close,
// reopen). Each label and state change leaves a system note, as on GitLab.
func (s *Server) editIssue(w http.ResponseWriter, r *http.Request, p *project, is *issue) {
	if !s.allowed(w, r, p, AccessPlanner) {
		return
	}
	in, ok := s.input(w, r)
	if !ok {
		return
	}
	event, hasEvent := in.str("state_event")
	if hasEvent && event != "close" && event != "reopen" {
		s.badParam(w, "state_event does not have a valid value")
		return
	}
	if v, ok := in.str("title"); ok {
		if v == "" {
			s.message(w, http.StatusBadRequest, map[string][]string{"title": {"can't be blank"}})
			return
		}
		is.title = v
	}
	if v, ok := in.str("description"); ok {
		is.description = v
	}
	added := func(l *label) {
		if l != nil {
			s.systemNote(p, "Issue", is.iid, fmt.Sprintf("added ~%d label", l.id))
		}
	}
	removed := func(l *label) {
		if l != nil {
			s.systemNote(p, "Issue", is.iid, fmt.Sprintf("removed ~%d label", l.id))
		}
	}
	if set, ok := in.list("labels"); ok {
		for _, name := range labelNames(is.labels) {
			if !slices.ContainsFunc(set, func(n string) bool { return strings.EqualFold(n, name) }) {
				removed(s.detachLabel(is, name))
			}
		}
		for _, name := range set {
			added(s.attachLabel(p, is, name))
		}
	}
	if add, ok := in.list("add_labels"); ok {
		for _, name := range add {
			added(s.attachLabel(p, is, name))
		}
	}
	if rm, ok := in.list("remove_labels"); ok {
		for _, name := range rm {
			removed(s.detachLabel(is, name))
		}
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	switch {
	case event == "close" && is.state != "closed":
		is.state, is.closed = "closed", now
		s.systemNote(p, "Issue", is.iid, "closed")
	case event == "reopen" && is.state != "opened":
		is.state, is.closed = "opened", time.Time{}
		s.systemNote(p, "Issue", is.iid, "reopened")
	}
	is.updated = now
	s.writeJSON(w, http.StatusOK, s.wireIssue(p, is))
}

// listNotes is GET /projects/:id/issues/:iid/notes, system notes
// included, newest first unless sort=asc.
func (s *Server) listNotes(w http.ResponseWriter, r *http.Request, p *project, is *issue) {
	ids := slices.Clone(is.notes)
	if r.URL.Query().Get("sort") != "asc" {
		slices.Reverse(ids)
	}
	from, to := s.page(w, r, len(ids))
	out := make([]wireNote, 0, to-from)
	for _, id := range ids[from:to] {
		out = append(out, s.wireNote(p, p.notes[id]))
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) createNote(w http.ResponseWriter, r *http.Request, p *project, is *issue) {
	in, ok := s.input(w, r)
	if !ok {
		return
	}
	body, ok := in.str("body")
	if !ok {
		s.badParam(w, "body is missing")
		return
	}
	if strings.TrimSpace(body) == "" {
		s.message(w, http.StatusBadRequest, map[string][]string{"note": {"can't be blank"}})
		return
	}
	n := s.addNote(p, "Issue", is.iid, body, callerOf(r), false)
	is.notes = append(is.notes, n.id)
	s.writeJSON(w, http.StatusCreated, s.wireNote(p, n))
}

// editNote is PUT …/notes/:note_id; only the note's author may edit it.
func (s *Server) editNote(w http.ResponseWriter, r *http.Request, p *project, is *issue) {
	id, err := strconv.ParseInt(r.PathValue("note"), 10, 64)
	n, ok := p.notes[id]
	if err != nil || !ok || n.noteableType != "Issue" || n.noteableIID != is.iid {
		s.message(w, http.StatusNotFound, "404 Note Not Found")
		return
	}
	if n.author != callerOf(r) || n.system {
		s.forbidden(w)
		return
	}
	in, ok := s.input(w, r)
	if !ok {
		return
	}
	body, ok := in.str("body")
	if !ok {
		s.badParam(w, "body is missing")
		return
	}
	n.body, n.updated = body, time.Now().UTC().Truncate(time.Millisecond)
	s.writeJSON(w, http.StatusOK, s.wireNote(p, n))
}

// createLabel is POST /projects/:id/labels; an existing name is 409.
func (s *Server) createLabel(w http.ResponseWriter, r *http.Request, p *project) {
	if !s.allowed(w, r, p, AccessPlanner) {
		return
	}
	in, ok := s.input(w, r)
	if !ok {
		return
	}
	name, _ := in.str("name")
	color, _ := in.str("color")
	switch {
	case name == "":
		s.badParam(w, "name is missing")
		return
	case color == "":
		s.badParam(w, "color is missing")
		return
	}
	if _, exists := p.labels[strings.ToLower(name)]; exists {
		s.message(w, http.StatusConflict, "Label already exists")
		return
	}
	descr, _ := in.str("description")
	l := &label{id: s.newID(), name: name, color: color, descr: descr}
	p.labels[strings.ToLower(name)] = l
	s.writeJSON(w, http.StatusCreated, s.wireLabel(l))
}

// listMembers is GET /projects/:id/members/all.
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, p *project) {
	ids := make([]int64, 0, len(p.members))
	for id := range p.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	from, to := s.page(w, r, len(ids))
	out := make([]wireMember, 0, to-from)
	for _, id := range ids[from:to] {
		out = append(out, wireMember{wireUser: s.wireUser(id), AccessLevel: p.members[id],
			CreatedAt: ts(time.Unix(1_600_000_000, 0)), MembershipState: "active"})
	}
	s.writeJSON(w, http.StatusOK, out)
}

// listMRs is GET /projects/:id/merge_requests with state (all by
// default), source_branch and target_branch filters, newest first.
func (s *Server) listMRs(w http.ResponseWriter, r *http.Request, p *project) {
	q := r.URL.Query()
	state := q.Get("state")
	var iids []int
	for iid, mr := range p.mrs {
		if state != "" && state != "all" && mr.state != state {
			continue
		}
		if b := q.Get("source_branch"); b != "" && b != mr.source {
			continue
		}
		if b := q.Get("target_branch"); b != "" && b != mr.target {
			continue
		}
		iids = append(iids, iid)
	}
	slices.Sort(iids)
	slices.Reverse(iids)
	from, to := s.page(w, r, len(iids))
	out := make([]wireMergeRequest, 0, to-from)
	for _, iid := range iids[from:to] {
		out = append(out, s.wireMR(p, p.mrs[iid]))
	}
	s.writeJSON(w, http.StatusOK, out)
}

// createMR is POST /projects/:id/merge_requests. Like GitLab it refuses
// branches that do not exist (400), the same branch as source and target
// and a second open merge request for the same branches (409).
func (s *Server) createMR(w http.ResponseWriter, r *http.Request, p *project) {
	if !s.allowed(w, r, p, AccessDeveloper) {
		return
	}
	in, ok := s.input(w, r)
	if !ok {
		return
	}
	title, _ := in.str("title")
	source, _ := in.str("source_branch")
	target, _ := in.str("target_branch")
	for _, req := range []struct{ name, v string }{{"source_branch", source}, {"target_branch", target}, {"title", title}} {
		if req.v == "" {
			s.badParam(w, req.name+" is missing")
			return
		}
	}
	if source == target {
		s.message(w, http.StatusConflict, []string{"You can't use same project/branch for source and target"})
		return
	}
	for _, b := range []struct{ field, name string }{{"source_branch", source}, {"target_branch", target}} {
		if !p.branches[b.name] {
			s.message(w, http.StatusBadRequest, map[string][]string{b.field: {"does not exist"}})
			return
		}
	}
	for _, mr := range p.mrs {
		if mr.state == "opened" && mr.source == source && mr.target == target {
			s.message(w, http.StatusConflict, []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", mr.iid)})
			return
		}
	}
	descr, _ := in.str("description")
	mr := s.openMR(p, title, descr, source, target, callerOf(r))
	s.writeJSON(w, http.StatusCreated, s.wireMR(p, mr))
}

func (s *Server) mr(w http.ResponseWriter, r *http.Request, p *project) *mergeRequest {
	iid, err := strconv.Atoi(r.PathValue("iid"))
	mr, ok := p.mrs[iid]
	if err != nil || !ok {
		s.message(w, http.StatusNotFound, "404 Not found")
		return nil
	}
	return mr
}

func (s *Server) getMR(w http.ResponseWriter, r *http.Request, p *project) {
	if mr := s.mr(w, r, p); mr != nil {
		s.writeJSON(w, http.StatusOK, s.wireMR(p, mr))
	}
}

// editMR is PUT /projects/:id/merge_requests/:iid: title, description,
// state_event (close, reopen).
func (s *Server) editMR(w http.ResponseWriter, r *http.Request, p *project) {
	mr := s.mr(w, r, p)
	if mr == nil {
		return
	}
	if !s.allowed(w, r, p, AccessDeveloper) {
		return
	}
	in, ok := s.input(w, r)
	if !ok {
		return
	}
	if v, ok := in.str("title"); ok {
		mr.title = v
	}
	if v, ok := in.str("description"); ok {
		mr.description = v
	}
	switch ev, _ := in.str("state_event"); ev {
	case "close":
		mr.state = "closed"
	case "reopen":
		mr.state = "opened"
	case "":
	default:
		s.badParam(w, "state_event does not have a valid value")
		return
	}
	mr.updated = time.Now().UTC().Truncate(time.Millisecond)
	s.writeJSON(w, http.StatusOK, s.wireMR(p, mr))
}
