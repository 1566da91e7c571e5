package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request, rp *repo) {
	s.reply(w, r, http.StatusOK, s.wireRepo(rp))
}

// listIssues is GET /repos/{owner}/{repo}/issues: state (open, closed,
// all), labels (comma-separated, all must be present), newest first. Pull
// requests are included, as on GitHub.
func (s *Server) listIssues(w http.ResponseWriter, r *http.Request, rp *repo) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		for _, name := range strings.Split(l, ",") {
			want = append(want, strings.ToLower(strings.TrimSpace(name)))
		}
	}
	var matched []*issue
	for _, is := range rp.issues {
		if state != "all" && is.state != state {
			continue
		}
		if !hasAll(is, want) {
			continue
		}
		matched = append(matched, is)
	}
	sort.Slice(matched, func(i, j int) bool {
		if q.Get("direction") == "asc" {
			return matched[i].number < matched[j].number
		}
		return matched[i].number > matched[j].number
	})
	from, to := s.page(w, r, len(matched))
	out := make([]wireIssue, 0, to-from)
	for _, is := range matched[from:to] {
		out = append(out, s.wireIssue(rp, is))
	}
	s.reply(w, r, http.StatusOK, out)
}

func hasAll(is *issue, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(is.labels, func(l *label) bool { return strings.ToLower(l.name) == w }) {
			return false
		}
	}
	return true
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request, rp *repo, is *issue) {
	s.reply(w, r, http.StatusOK, s.wireIssue(rp, is))
}

// editIssue is PATCH /repos/{owner}/{repo}/issues/{number}: title, body,
// state, state_reason and labels (which replaces the whole set).
func (s *Server) editIssue(w http.ResponseWriter, r *http.Request, rp *repo, is *issue) {
	var in struct {
		Title       *string   `json:"title"`
		Body        *string   `json:"body"`
		State       *string   `json:"state"`
		StateReason *string   `json:"state_reason"`
		Labels      *[]string `json:"labels"`
	}
	if decode(r, &in) != nil {
		s.badJSON(w, r)
		return
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "Issue", Field: "state", Code: "invalid"})
		return
	}
	if in.StateReason != nil && !slices.Contains([]string{"completed", "not_planned", "reopened"}, *in.StateReason) {
		s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "Issue", Field: "state_reason", Code: "invalid"})
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	if in.Title != nil {
		is.title = *in.Title
	}
	if in.Body != nil {
		is.body = *in.Body
	}
	if in.State != nil && *in.State != is.state {
		is.state = *in.State
		if is.state == "closed" {
			is.closed, is.stateReason = now, "completed"
		} else {
			is.closed, is.stateReason = time.Time{}, "reopened"
		}
	}
	if in.StateReason != nil {
		is.stateReason = *in.StateReason
	}
	if in.Labels != nil {
		is.labels = nil
		for _, name := range *in.Labels {
			s.attachLabel(rp, is, name)
		}
	}
	is.updated = now
	s.reply(w, r, http.StatusOK, s.wireIssue(rp, is))
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, rp *repo, is *issue) {
	from, to := s.page(w, r, len(is.comments))
	out := make([]wireComment, 0, to-from)
	for _, id := range is.comments[from:to] {
		out = append(out, s.wireComment(rp, rp.comments[id]))
	}
	s.reply(w, r, http.StatusOK, out)
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request, rp *repo, is *issue) {
	var in struct {
		Body *string `json:"body"`
	}
	if decode(r, &in) != nil {
		s.badJSON(w, r)
		return
	}
	if in.Body == nil || *in.Body == "" {
		s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		return
	}
	who, _ := s.callerOf(r)
	c := s.addComment(rp, is, *in.Body, who.user, who.association)
	w.Header().Set("Location", fmt.Sprintf("%s/issues/comments/%d", s.repoAPI(rp), c.id))
	s.reply(w, r, http.StatusCreated, s.wireComment(rp, c))
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request, rp *repo) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	c, ok := rp.comments[id]
	if err != nil || !ok {
		s.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	var in struct {
		Body *string `json:"body"`
	}
	if decode(r, &in) != nil {
		s.badJSON(w, r)
		return
	}
	if in.Body == nil || *in.Body == "" {
		s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		return
	}
	c.body, c.updated = *in.Body, time.Now().UTC().Truncate(time.Second)
	s.reply(w, r, http.StatusOK, s.wireComment(rp, c))
}

// addIssueLabels is POST .../issues/{number}/labels: adds the labels
// (creating unknown ones) and answers with every label of the issue. The
// body is {"labels": [...]} or, as GitHub also accepts, a bare array.
func (s *Server) addIssueLabels(w http.ResponseWriter, r *http.Request, rp *repo, is *issue) {
	var raw json.RawMessage
	if decode(r, &raw) != nil {
		s.badJSON(w, r)
		return
	}
	var in struct {
		Labels []string `json:"labels"`
	}
	if err := json.Unmarshal(raw, &in.Labels); err != nil {
		if err := json.Unmarshal(raw, &in); err != nil {
			s.badJSON(w, r)
			return
		}
	}
	if len(in.Labels) == 0 {
		s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "Label", Field: "labels", Code: "missing_field"})
		return
	}
	for _, name := range in.Labels {
		s.attachLabel(rp, is, name)
	}
	is.updated = time.Now().UTC().Truncate(time.Second)
	s.reply(w, r, http.StatusOK, s.wireLabels(rp, is.labels))
}

// removeIssueLabel is DELETE .../issues/{number}/labels/{name}: answers
// with the remaining labels, or 404 when the issue does not carry it.
func (s *Server) removeIssueLabel(w http.ResponseWriter, r *http.Request, rp *repo, is *issue) {
	name := strings.ToLower(r.PathValue("name"))
	i := slices.IndexFunc(is.labels, func(l *label) bool { return strings.ToLower(l.name) == name })
	if i < 0 {
		s.fail(w, r, http.StatusNotFound, "Label does not exist")
		return
	}
	is.labels = slices.Delete(is.labels, i, i+1)
	is.updated = time.Now().UTC().Truncate(time.Second)
	s.reply(w, r, http.StatusOK, s.wireLabels(rp, is.labels))
}

func (s *Server) getLabel(w http.ResponseWriter, r *http.Request, rp *repo) {
	l, ok := rp.labels[strings.ToLower(r.PathValue("name"))]
	if !ok {
		s.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	s.reply(w, r, http.StatusOK, s.wireLabel(rp, l))
}

func (s *Server) createLabel(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in struct {
		Name        string `json:"name"`
		Color       string `json:"color"`
		Description string `json:"description"`
	}
	if decode(r, &in) != nil {
		s.badJSON(w, r)
		return
	}
	if in.Name == "" {
		s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "Label", Field: "name", Code: "missing_field"})
		return
	}
	if _, exists := rp.labels[strings.ToLower(in.Name)]; exists {
		s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "Label", Field: "name", Code: "already_exists"})
		return
	}
	color := strings.TrimPrefix(in.Color, "#")
	if color == "" {
		color = "ededed"
	}
	l := &label{id: s.newID(), name: in.Name, color: color, description: in.Description}
	rp.labels[strings.ToLower(in.Name)] = l
	s.reply(w, r, http.StatusCreated, s.wireLabel(rp, l))
}

// listPulls is GET /repos/{owner}/{repo}/pulls with state and head
// (owner:branch) filters.
func (s *Server) listPulls(w http.ResponseWriter, r *http.Request, rp *repo) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	head := q.Get("head")
	var numbers []int
	for n, p := range rp.pulls {
		is := rp.issues[n]
		if state != "all" && is.state != state {
			continue
		}
		if head != "" && !strings.EqualFold(head, rp.owner+":"+p.head) {
			continue
		}
		if base := q.Get("base"); base != "" && base != p.base {
			continue
		}
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	slices.Reverse(numbers)
	from, to := s.page(w, r, len(numbers))
	out := make([]wirePull, 0, to-from)
	for _, n := range numbers[from:to] {
		out = append(out, s.wirePull(rp, rp.pulls[n]))
	}
	s.reply(w, r, http.StatusOK, out)
}

// createPull is POST /repos/{owner}/{repo}/pulls. Like GitHub it refuses a
// head or base branch that does not exist and a second open pull request
// for the same head and base.
func (s *Server) createPull(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
	}
	if decode(r, &in) != nil {
		s.badJSON(w, r)
		return
	}
	head := in.Head
	if owner, branch, ok := strings.Cut(in.Head, ":"); ok && strings.EqualFold(owner, rp.owner) {
		head = branch
	}
	switch {
	case in.Title == "":
		s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "PullRequest", Field: "title", Code: "missing_field"})
		return
	case !rp.branches[head]:
		s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "PullRequest", Field: "head", Code: "invalid"})
		return
	case in.Draft && rp.noDrafts:
		s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "PullRequest", Code: "custom",
			Message: "Draft pull requests are not supported in this repository."})
		return
	case !rp.branches[in.Base]:
		s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "PullRequest", Field: "base", Code: "invalid"})
		return
	}
	for n, p := range rp.pulls {
		if p.head == head && p.base == in.Base && rp.issues[n].state == "open" {
			s.fail(w, r, http.StatusUnprocessableEntity, "Validation Failed", wireErrorItem{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", rp.owner, head)})
			return
		}
	}
	rp.nextNumber++
	now := time.Now().UTC().Truncate(time.Second)
	who, _ := s.callerOf(r)
	is := &issue{id: s.newID(), number: rp.nextNumber, title: in.Title, body: in.Body, state: "open",
		author: who.user, association: who.association, isPull: true, created: now, updated: now}
	rp.issues[is.number] = is
	p := &pull{number: is.number, head: head, base: in.Base, draft: in.Draft}
	rp.pulls[p.number] = p
	w.Header().Set("Location", fmt.Sprintf("%s/pulls/%d", s.repoAPI(rp), p.number))
	s.reply(w, r, http.StatusCreated, s.wirePull(rp, p))
}

func (s *Server) pullOf(w http.ResponseWriter, r *http.Request, rp *repo) (*pull, bool) {
	n, err := strconv.Atoi(r.PathValue("number"))
	p, ok := rp.pulls[n]
	if err != nil || !ok {
		s.fail(w, r, http.StatusNotFound, "Not Found")
		return nil, false
	}
	return p, true
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request, rp *repo) {
	if p, ok := s.pullOf(w, r, rp); ok {
		s.reply(w, r, http.StatusOK, s.wirePull(rp, p))
	}
}

func (s *Server) editPull(w http.ResponseWriter, r *http.Request, rp *repo) {
	p, ok := s.pullOf(w, r, rp)
	if !ok {
		return
	}
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
	}
	if decode(r, &in) != nil {
		s.badJSON(w, r)
		return
	}
	is := rp.issues[p.number]
	if in.Title != nil {
		is.title = *in.Title
	}
	if in.Body != nil {
		is.body = *in.Body
	}
	if in.State != nil {
		is.state = *in.State
	}
	is.updated = time.Now().UTC().Truncate(time.Second)
	s.reply(w, r, http.StatusOK, s.wirePull(rp, p))
}

// getAuthenticatedUser is GET /user: the account a personal token acts
// as. An installation token is no user's: GitHub refuses it with 403.
func (s *Server) getAuthenticatedUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	who, _ := s.callerOf(r)
	if who.user.Bot {
		s.fail(w, r, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	s.reply(w, r, http.StatusOK, s.profile(who.user))
}

// getUser is GET /users/{username}: any person's public profile, or the
// bot of a registered App ({slug}[bot]); another bot login is 404.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	login := r.PathValue("username")
	u := User{Login: login}
	if strings.HasSuffix(login, "[bot]") {
		if !strings.EqualFold(login, AppBot.Login) || len(s.apps) == 0 {
			s.fail(w, r, http.StatusNotFound, "Not Found")
			return
		}
		u = AppBot
	}
	s.reply(w, r, http.StatusOK, s.profile(u))
}
