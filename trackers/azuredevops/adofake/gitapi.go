package adofake

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// repoFor resolves the repository segment; the caller holds s.mu.
func (s *Server) repoFor(w http.ResponseWriter, rt route) (*project, *repo, bool) {
	p := s.projects[strings.ToLower(rt.project)]
	r, ok := p.repos[strings.ToLower(rt.parts[2])]
	if !ok {
		s.fail(w, http.StatusNotFound, "TF401019: The Git repository with name or identifier "+rt.parts[2]+" does not exist or you do not have permissions for the operation you are attempting.", "GitRepositoryNotFoundException")
		return nil, nil, false
	}
	return p, r, true
}

func (s *Server) repoJSON(p *project, r *repo) map[string]any {
	web := s.OrgURL() + "/" + pathEscape(p.name) + "/_git/" + pathEscape(r.name)
	out := map[string]any{
		"id":   r.id,
		"name": r.name,
		"url":  s.apiURL(p.name, "git/repositories/"+r.id),
		"project": map[string]any{
			"id": p.id, "name": p.name, "url": s.OrgURL() + "/_apis/projects/" + p.id,
			"state": "wellFormed", "visibility": "private",
		},
		"size":       0,
		"remoteUrl":  web,
		"sshUrl":     "git@ssh.dev.azure.com:v3/" + s.org + "/" + pathEscape(p.name) + "/" + pathEscape(r.name),
		"webUrl":     web,
		"isDisabled": false,
	}
	if r.defaultBranch != "" {
		out["defaultBranch"] = r.defaultBranch
	}
	return out
}

func (s *Server) getRepo(w http.ResponseWriter, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, r, ok := s.repoFor(w, rt)
	if !ok {
		return
	}
	s.reply(w, http.StatusOK, s.repoJSON(p, r))
}

func (s *Server) pullJSON(p *project, r *repo, pr *PullRequest) map[string]any {
	return map[string]any{
		"repository":         s.repoJSON(p, r),
		"pullRequestId":      pr.ID,
		"codeReviewId":       pr.ID,
		"status":             pr.Status,
		"createdBy":          s.identityRef(pr.CreatedBy),
		"creationDate":       adoTime(pr.CreationDate),
		"title":              pr.Title,
		"description":        pr.Description,
		"sourceRefName":      pr.SourceRef,
		"targetRefName":      pr.TargetRef,
		"mergeStatus":        "queued",
		"isDraft":            pr.Draft,
		"mergeId":            guid(3, pr.ID),
		"url":                s.apiURL(p.name, "git/repositories/"+r.id+"/pullRequests/"+itoa(pr.ID)),
		"supportsIterations": true,
	}
}

// maxDescription is the longest pull request description Azure Repos
// takes, in UTF-16 code units.
const maxDescription = 4000

func (s *Server) descriptionTooLong(w http.ResponseWriter, d string) bool {
	if utf16Len(d) <= maxDescription {
		return false
	}
	s.fail(w, http.StatusBadRequest, "TF401174: The pull request description cannot be longer than 4000 characters.", "InvalidArgumentValueException")
	return true
}

// createPull opens a pull request. Azure Repos allows one active pull
// request per source and target branch (409 TF401179 for a second), wants
// both branches to exist, and links the work items named in workItemRefs.
func (s *Server) createPull(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		SourceRefName string `json:"sourceRefName"`
		TargetRefName string `json:"targetRefName"`
		Title         string `json:"title"`
		Description   string `json:"description"`
		IsDraft       bool   `json:"isDraft"`
		WorkItemRefs  []struct {
			ID string `json:"id"`
		} `json:"workItemRefs"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, http.StatusBadRequest, "The request body is not a valid pull request: "+err.Error(), "InvalidArgumentValueException")
		return
	}
	if strings.TrimSpace(req.Title) == "" {
		s.fail(w, http.StatusBadRequest, "TF401178: The pull request title cannot be empty.", "InvalidArgumentValueException")
		return
	}
	if s.descriptionTooLong(w, req.Description) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rp, ok := s.repoFor(w, rt)
	if !ok {
		return
	}
	if !rp.branches[req.SourceRefName] || !rp.branches[req.TargetRefName] {
		s.fail(w, http.StatusBadRequest, "TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches", "GitPullRequestCannotBeActivated")
		return
	}
	if req.SourceRefName == req.TargetRefName {
		s.fail(w, http.StatusBadRequest, "TF401180: The source and target branches of a pull request must differ.", "InvalidArgumentValueException")
		return
	}
	for _, pr := range rp.pulls {
		if pr.Status == "active" && pr.SourceRef == req.SourceRefName && pr.TargetRef == req.TargetRefName {
			s.fail(w, http.StatusConflict, "TF401179: An active pull request for the source and target branch already exists.", "GitPullRequestExistsException")
			return
		}
	}
	var linked []string
	for _, ref := range req.WorkItemRefs {
		id, err := strconv.Atoi(ref.ID)
		if _, ok := s.items[id]; err != nil || !ok {
			s.fail(w, http.StatusBadRequest, "TF401232: Work item "+ref.ID+" does not exist, or you do not have permissions to read it.", "WorkItemUnauthorizedAccessException")
			return
		}
		linked = append(linked, ref.ID)
	}
	who, _ := s.callerLocked(r)
	pr := &PullRequest{
		ID: s.newID(), SourceRef: req.SourceRefName, TargetRef: req.TargetRefName, Title: req.Title,
		Description: req.Description, Draft: req.IsDraft, Status: "active", WorkItems: linked,
		CreatedBy: who, CreationDate: timeNow(),
	}
	rp.pulls[pr.ID] = pr
	s.reply(w, http.StatusCreated, s.pullJSON(p, rp, pr))
}

// listPulls filters by searchCriteria.status (default active),
// .sourceRefName and .targetRefName, newest first.
func (s *Server) listPulls(w http.ResponseWriter, r *http.Request, rt route) {
	q := r.URL.Query()
	status := q.Get("searchCriteria.status")
	if status == "" {
		status = "active"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rp, ok := s.repoFor(w, rt)
	if !ok {
		return
	}
	var ids []int
	for id, pr := range rp.pulls {
		if (status == "all" || strings.EqualFold(pr.Status, status)) &&
			matchRef(q.Get("searchCriteria.sourceRefName"), pr.SourceRef) &&
			matchRef(q.Get("searchCriteria.targetRefName"), pr.TargetRef) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	values := make([]map[string]any, len(ids))
	for i, id := range ids {
		values[i] = s.pullJSON(p, rp, rp.pulls[id])
	}
	s.reply(w, http.StatusOK, map[string]any{"value": values, "count": len(values)})
}

func matchRef(want, ref string) bool { return want == "" || want == ref }

func (s *Server) pullFor(w http.ResponseWriter, rt route) (*project, *repo, *PullRequest, bool) {
	p, rp, ok := s.repoFor(w, rt)
	if !ok {
		return nil, nil, nil, false
	}
	id, _ := strconv.Atoi(rt.parts[4])
	pr, ok := rp.pulls[id]
	if !ok {
		s.fail(w, http.StatusNotFound, "TF401180: The requested pull request was not found.", "GitPullRequestNotFoundException")
		return nil, nil, nil, false
	}
	return p, rp, pr, true
}

func (s *Server) getPull(w http.ResponseWriter, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rp, pr, ok := s.pullFor(w, rt)
	if !ok {
		return
	}
	s.reply(w, http.StatusOK, s.pullJSON(p, rp, pr))
}

// updatePull changes title, description, draft flag or status.
func (s *Server) updatePull(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		Title       *string `json:"title"`
		Description *string `json:"description"`
		IsDraft     *bool   `json:"isDraft"`
		Status      *string `json:"status"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, http.StatusBadRequest, "The request body is not a valid pull request update: "+err.Error(), "InvalidArgumentValueException")
		return
	}
	if req.Description != nil && s.descriptionTooLong(w, *req.Description) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rp, pr, ok := s.pullFor(w, rt)
	if !ok {
		return
	}
	if req.Title != nil {
		pr.Title = *req.Title
	}
	if req.Description != nil {
		pr.Description = *req.Description
	}
	if req.IsDraft != nil {
		pr.Draft = *req.IsDraft
	}
	if req.Status != nil {
		pr.Status = *req.Status
	}
	s.reply(w, http.StatusOK, s.pullJSON(p, rp, pr))
}
