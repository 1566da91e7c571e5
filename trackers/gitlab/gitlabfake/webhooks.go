package gitlabfake

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Delivery is one webhook delivery as GitLab sends it.
type Delivery struct {
	// Event is the X-Gitlab-Event header: "Issue Hook", "Note Hook",
	// "Confidential Issue Hook", "Confidential Note Hook", ….
	Event string
	// IdempotencyKey stays the same when GitLab retries or a user resends
	// the delivery (GitLab 17.4 and later); "" omits the header, as older
	// GitLab versions do.
	IdempotencyKey string
	// EventUUID is X-Gitlab-Event-UUID, WebhookUUID X-Gitlab-Webhook-UUID.
	EventUUID   string
	WebhookUUID string
	Body        []byte
	// instance is X-Gitlab-Instance, the sending instance's root URL.
	instance string
}

// Header is the delivery's headers as GitLab sends them; with a secret the
// webhook's secret token is sent in X-Gitlab-Token, without one it is not.
func (d Delivery) Header(secret string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitLab/17.8.1")
	h.Set("X-Gitlab-Event", d.Event)
	h.Set("X-Gitlab-Webhook-UUID", d.WebhookUUID)
	h.Set("X-Gitlab-Event-UUID", d.EventUUID)
	if d.instance != "" {
		h.Set("X-Gitlab-Instance", d.instance)
	}
	if d.IdempotencyKey != "" {
		h.Set("Idempotency-Key", d.IdempotencyKey)
	}
	if secret != "" {
		h.Set("X-Gitlab-Token", secret)
	}
	return h
}

// Send posts the delivery to url with secret as its token, as GitLab would.
func Send(ctx context.Context, client *http.Client, url, secret string, d Delivery) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return nil, fmt.Errorf("send %s delivery %s: %w", d.Event, d.IdempotencyKey, err)
	}
	req.Header = d.Header(secret)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("send %s delivery %s: %w", d.Event, d.IdempotencyKey, err)
	}
	return resp, nil
}

// NewUUID is a random version 4 UUID, like GitLab's delivery ids.
func NewUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Redelivery is the delivery again as "Resend request" or an automatic
// retry sends it: the same Idempotency-Key and body, a new event UUID.
func (d Delivery) Redelivery() Delivery {
	d.EventUUID = NewUUID()
	d.Body = bytes.Clone(d.Body)
	return d
}

// WithBody is the delivery with its body replaced, e.g. by one that does
// not parse.
func (d Delivery) WithBody(body []byte) Delivery {
	d.Body = body
	return d
}

// WithoutIdempotencyKey is the delivery as GitLab before 17.4 sends it.
func (d Delivery) WithoutIdempotencyKey() Delivery {
	d.IdempotencyKey = ""
	return d
}

// Event is a delivery of any event name with a body the test wrote.
func Event(name string, body []byte) Delivery {
	return Delivery{Event: name, IdempotencyKey: NewUUID(), EventUUID: NewUUID(), WebhookUUID: NewUUID(), Body: body}
}

func (s *Server) delivery(event string, payload any) Delivery {
	body, err := json.Marshal(payload)
	if err != nil {
		panic("gitlabfake: " + err.Error())
	}
	d := Event(event, body)
	d.instance = s.URL
	return d
}

// IssueChange describes the change an Issue Hook reports.
type IssueChange struct {
	// Action is open, update, close or reopen.
	Action string
	// LabelsBefore, when not nil, are the issue's labels before the
	// change: the delivery reports changes.labels (previous and current).
	LabelsBefore []string
	// By is the username that made the change (default root).
	By string
}

// IssueHook is an Issue Hook delivery (Confidential Issue Hook for a
// confidential issue) about issue iid as it is now.
func (s *Server) IssueHook(path string, iid int, c IssueChange) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(path)
	is := s.mustIssue(p, iid)
	by := s.mustUser(cmp.Or(c.By, "root"))
	attrs := s.hookIssue(p, is)
	attrs["action"] = c.Action
	attrs["updated_by_id"] = by.id
	current := s.hookLabels(p, is.labels)
	payload := map[string]any{
		"object_kind": "issue", "event_type": "issue",
		"user":              s.hookUser(by.id),
		"project":           s.hookProject(p),
		"object_attributes": attrs,
		"repository":        s.hookRepository(p),
		"labels":            current,
		"changes":           map[string]any{},
	}
	var assignees []map[string]any
	for _, a := range is.assignees {
		assignees = append(assignees, s.hookUser(a))
	}
	if len(assignees) > 0 {
		payload["assignees"], payload["assignee"] = assignees, assignees[0]
	}
	if c.LabelsBefore != nil {
		var before []*label
		for _, name := range c.LabelsBefore {
			before = append(before, s.projectLabel(p, name))
		}
		payload["changes"] = map[string]any{
			"labels":     map[string]any{"previous": s.hookLabels(p, before), "current": current},
			"updated_at": map[string]any{"previous": hookTS(is.updated.Add(-time.Minute)), "current": hookTS(is.updated)},
		}
	}
	event := "Issue Hook"
	if is.confidential {
		event = "Confidential Issue Hook"
	}
	return s.delivery(event, payload)
}

// NoteHook is a Note Hook delivery (Confidential Note Hook for a note on a
// confidential issue) about note id, which AddNote or AddMergeRequestNote
// created; action is create or update.
func (s *Server) NoteHook(path string, noteID int64, action string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mustProject(path)
	n, ok := p.notes[noteID]
	if !ok {
		panic(fmt.Sprintf("gitlabfake: no note %d in %s", noteID, path))
	}
	attrs := map[string]any{
		"id": n.id, "note": n.body, "noteable_type": n.noteableType, "author_id": n.author,
		"created_at": hookTS(n.created), "updated_at": hookTS(n.updated), "project_id": p.id,
		"attachment": nil, "line_code": nil, "commit_id": "", "system": n.system, "st_diff": nil,
		"description": n.body, "action": action, "internal": n.internal, "discussion_id": fmt.Sprintf("%040x", n.id),
	}
	payload := map[string]any{
		"object_kind": "note", "event_type": "note",
		"user": s.hookUser(n.author), "project_id": p.id, "project": s.hookProject(p),
		"repository": s.hookRepository(p), "object_attributes": attrs,
	}
	event := "Note Hook"
	switch n.noteableType {
	case "Issue":
		is := p.issues[n.noteableIID]
		attrs["noteable_id"] = is.id
		attrs["url"] = fmt.Sprintf("%s/-/issues/%d#note_%d", s.projectWeb(p), is.iid, n.id)
		payload["issue"] = s.hookIssue(p, is)
		if is.confidential || n.internal {
			event = "Confidential Note Hook"
		}
	case "MergeRequest":
		mr := p.mrs[n.noteableIID]
		attrs["noteable_id"] = mr.id
		attrs["url"] = fmt.Sprintf("%s/-/merge_requests/%d#note_%d", s.projectWeb(p), mr.iid, n.id)
		payload["merge_request"] = map[string]any{
			"id": mr.id, "iid": mr.iid, "title": mr.title, "description": mr.description, "state": mr.state,
			"source_branch": mr.source, "target_branch": mr.target, "author_id": mr.author,
			"url": fmt.Sprintf("%s/-/merge_requests/%d", s.projectWeb(p), mr.iid),
		}
	}
	return s.delivery(event, payload)
}

// hookIssue is an issue as the object_attributes of an Issue Hook and the
// issue of a Note Hook show it.
func (s *Server) hookIssue(p *project, is *issue) map[string]any {
	stateID := 1
	if is.state == "closed" {
		stateID = 2
	}
	var closedAt any
	if !is.closed.IsZero() {
		closedAt = hookTS(is.closed)
	}
	assigneeIDs := append([]int64{}, is.assignees...)
	var assigneeID any
	if len(assigneeIDs) > 0 {
		assigneeID = assigneeIDs[0]
	}
	return map[string]any{
		"id": is.id, "iid": is.iid, "title": is.title, "description": is.description,
		"assignee_ids": assigneeIDs, "assignee_id": assigneeID, "author_id": is.author, "project_id": p.id,
		"created_at": hookTS(is.created), "updated_at": hookTS(is.updated), "closed_at": closedAt,
		"last_edited_at": nil, "last_edited_by_id": nil, "milestone_id": nil, "state_id": stateID,
		"confidential": is.confidential, "discussion_locked": nil, "due_date": nil, "moved_to_id": nil,
		"duplicated_to_id": nil, "time_estimate": 0, "total_time_spent": 0, "time_change": 0,
		"human_total_time_spent": nil, "human_time_estimate": nil, "human_time_change": nil, "weight": nil,
		"health_status": nil, "type": "Issue", "url": fmt.Sprintf("%s/-/issues/%d", s.projectWeb(p), is.iid),
		"state": is.state, "severity": "unknown", "labels": s.hookLabels(p, is.labels),
	}
}

func (s *Server) hookLabels(p *project, ls []*label) []map[string]any {
	out := make([]map[string]any, 0, len(ls))
	for _, l := range ls {
		out = append(out, map[string]any{
			"id": l.id, "title": l.name, "color": l.color, "project_id": p.id,
			"created_at": hookTS(time.Unix(1_600_000_000, 0)), "updated_at": hookTS(time.Unix(1_600_000_000, 0)),
			"template": false, "description": optString(l.descr), "type": "ProjectLabel", "group_id": nil,
		})
	}
	return out
}

func (s *Server) hookUser(id int64) map[string]any {
	u := s.wireUser(id)
	return map[string]any{"id": u.ID, "name": u.Name, "username": u.Username, "avatar_url": u.AvatarURL, "email": "[REDACTED]"}
}

func (s *Server) hookProject(p *project) map[string]any {
	w := s.wireProject(p)
	namespace := p.path[:strings.LastIndex(p.path, "/")]
	return map[string]any{
		"id": p.id, "name": w.Name, "description": "", "web_url": w.WebURL, "avatar_url": nil,
		"git_ssh_url": w.SSHURLToRepo, "git_http_url": w.HTTPURLToRepo, "namespace": namespace,
		"visibility_level": 0, "path_with_namespace": p.path, "default_branch": p.defaultBranch,
		"ci_config_path": nil, "homepage": w.WebURL, "url": w.SSHURLToRepo, "ssh_url": w.SSHURLToRepo,
		"http_url": w.HTTPURLToRepo,
	}
}

func (s *Server) hookRepository(p *project) map[string]any {
	w := s.wireProject(p)
	return map[string]any{"name": w.Name, "url": w.SSHURLToRepo, "description": "", "homepage": w.WebURL}
}
