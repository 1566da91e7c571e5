package gitlabfake

import (
	"fmt"
	"strings"
	"time"
)

// The JSON shapes below follow GitLab's REST API reference (issues, notes,
// labels, members, merge requests, projects, users) and its webhook
// events page, with the fields clients commonly read, spelled as GitLab
// spells them.

type wireUser struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
	State     string `json:"state"`
	Locked    bool   `json:"locked"`
	AvatarURL string `json:"avatar_url"`
	WebURL    string `json:"web_url"`
}

type wireCurrentUser struct {
	wireUser
	Bot     bool `json:"bot"`
	IsAdmin bool `json:"is_admin"`
}

type wireMember struct {
	wireUser
	AccessLevel     int     `json:"access_level"`
	CreatedAt       string  `json:"created_at"`
	ExpiresAt       *string `json:"expires_at"`
	MembershipState string  `json:"membership_state"`
}

type wireLabel struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Color       string  `json:"color"`
	TextColor   string  `json:"text_color"`
	Description *string `json:"description"`
	Priority    *int    `json:"priority"`
	IsProject   bool    `json:"is_project_label"`
}

type wireReferences struct {
	Short    string `json:"short"`
	Relative string `json:"relative"`
	Full     string `json:"full"`
}

type wireIssue struct {
	ID                 int64          `json:"id"`
	IID                int            `json:"iid"`
	ProjectID          int64          `json:"project_id"`
	Title              string         `json:"title"`
	Description        *string        `json:"description"`
	State              string         `json:"state"`
	CreatedAt          string         `json:"created_at"`
	UpdatedAt          string         `json:"updated_at"`
	ClosedAt           *string        `json:"closed_at"`
	Labels             []string       `json:"labels"`
	Author             wireUser       `json:"author"`
	Assignees          []wireUser     `json:"assignees"`
	Assignee           *wireUser      `json:"assignee"`
	Type               string         `json:"type"`
	IssueType          string         `json:"issue_type"`
	UserNotesCount     int            `json:"user_notes_count"`
	MergeRequestsCount int            `json:"merge_requests_count"`
	Upvotes            int            `json:"upvotes"`
	Downvotes          int            `json:"downvotes"`
	Confidential       bool           `json:"confidential"`
	DiscussionLocked   *bool          `json:"discussion_locked"`
	WebURL             string         `json:"web_url"`
	References         wireReferences `json:"references"`
}

type wireNote struct {
	ID           int64    `json:"id"`
	Type         *string  `json:"type"`
	Body         string   `json:"body"`
	Author       wireUser `json:"author"`
	CreatedAt    string   `json:"created_at"`
	UpdatedAt    string   `json:"updated_at"`
	System       bool     `json:"system"`
	NoteableID   int64    `json:"noteable_id"`
	NoteableType string   `json:"noteable_type"`
	NoteableIID  int      `json:"noteable_iid"`
	ProjectID    int64    `json:"project_id"`
	Resolvable   bool     `json:"resolvable"`
	Confidential bool     `json:"confidential"`
	Internal     bool     `json:"internal"`
}

type wireMergeRequest struct {
	ID                  int64          `json:"id"`
	IID                 int            `json:"iid"`
	ProjectID           int64          `json:"project_id"`
	Title               string         `json:"title"`
	Description         *string        `json:"description"`
	State               string         `json:"state"`
	CreatedAt           string         `json:"created_at"`
	UpdatedAt           string         `json:"updated_at"`
	TargetBranch        string         `json:"target_branch"`
	SourceBranch        string         `json:"source_branch"`
	SourceProjectID     int64          `json:"source_project_id"`
	TargetProjectID     int64          `json:"target_project_id"`
	Author              wireUser       `json:"author"`
	Labels              []string       `json:"labels"`
	Draft               bool           `json:"draft"`
	WorkInProgress      bool           `json:"work_in_progress"`
	MergeStatus         string         `json:"merge_status"`
	DetailedMergeStatus string         `json:"detailed_merge_status"`
	WebURL              string         `json:"web_url"`
	References          wireReferences `json:"references"`
}

type wireProject struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	Path              string `json:"path"`
	PathWithNamespace string `json:"path_with_namespace"`
	NameWithNamespace string `json:"name_with_namespace"`
	DefaultBranch     string `json:"default_branch"`
	Visibility        string `json:"visibility"`
	WebURL            string `json:"web_url"`
	HTTPURLToRepo     string `json:"http_url_to_repo"`
	SSHURLToRepo      string `json:"ssh_url_to_repo"`
	CreatedAt         string `json:"created_at"`
}

// ts formats times as the API does (ISO 8601 with milliseconds).
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// hookTS formats times as webhook payloads do ("2015-05-17 17:06:40 UTC").
func hookTS(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") }

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) host() string {
	return strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://")
}

func (s *Server) projectWeb(p *project) string { return s.URL + "/" + p.path }

func (s *Server) wireUser(id int64) wireUser {
	u, ok := s.users[id]
	if !ok {
		return wireUser{ID: id, Username: "ghost", Name: "Ghost User", State: "active"}
	}
	return wireUser{ID: u.id, Username: u.username, Name: u.name, State: "active",
		AvatarURL: "https://www.gravatar.com/avatar/" + u.username + "?s=80&d=identicon", WebURL: s.URL + "/" + u.username}
}

func (s *Server) wireProject(p *project) wireProject {
	name := p.path[strings.LastIndex(p.path, "/")+1:]
	return wireProject{ID: p.id, Name: name, Path: name, PathWithNamespace: p.path,
		NameWithNamespace: strings.ReplaceAll(p.path, "/", " / "), DefaultBranch: p.defaultBranch, Visibility: "private",
		WebURL: s.projectWeb(p), HTTPURLToRepo: s.projectWeb(p) + ".git", SSHURLToRepo: "git@" + s.host() + ":" + p.path + ".git",
		CreatedAt: ts(time.Unix(1_600_000_000, 0))}
}

func (s *Server) wireLabel(l *label) wireLabel {
	return wireLabel{ID: l.id, Name: l.name, Color: l.color, TextColor: "#FFFFFF", Description: optString(l.descr), IsProject: true}
}

func (s *Server) wireIssue(p *project, is *issue) wireIssue {
	w := wireIssue{
		ID: is.id, IID: is.iid, ProjectID: p.id, Title: is.title, Description: optString(is.description),
		State: is.state, CreatedAt: ts(is.created), UpdatedAt: ts(is.updated), Labels: labelNames(is.labels),
		Author: s.wireUser(is.author), Assignees: []wireUser{}, Type: "ISSUE", IssueType: "issue",
		Confidential: is.confidential, WebURL: fmt.Sprintf("%s/-/issues/%d", s.projectWeb(p), is.iid),
		References: wireReferences{Short: fmt.Sprintf("#%d", is.iid), Relative: fmt.Sprintf("#%d", is.iid),
			Full: fmt.Sprintf("%s#%d", p.path, is.iid)},
	}
	for _, id := range is.notes {
		if !p.notes[id].system {
			w.UserNotesCount++
		}
	}
	for _, a := range is.assignees {
		w.Assignees = append(w.Assignees, s.wireUser(a))
	}
	if len(w.Assignees) > 0 {
		w.Assignee = &w.Assignees[0]
	}
	if !is.closed.IsZero() {
		c := ts(is.closed)
		w.ClosedAt = &c
	}
	return w
}

func (s *Server) wireNote(p *project, n *note) wireNote {
	w := wireNote{ID: n.id, Body: n.body, Author: s.wireUser(n.author), CreatedAt: ts(n.created), UpdatedAt: ts(n.updated),
		System: n.system, NoteableType: n.noteableType, NoteableIID: n.noteableIID, ProjectID: p.id,
		Confidential: n.internal, Internal: n.internal}
	switch n.noteableType {
	case "Issue":
		w.NoteableID = p.issues[n.noteableIID].id
	case "MergeRequest":
		w.NoteableID = p.mrs[n.noteableIID].id
	}
	return w
}

func (s *Server) wireMR(p *project, mr *mergeRequest) wireMergeRequest {
	draft := draftTitle.MatchString(mr.title)
	return wireMergeRequest{
		ID: mr.id, IID: mr.iid, ProjectID: p.id, Title: mr.title, Description: optString(mr.description), State: mr.state,
		CreatedAt: ts(mr.created), UpdatedAt: ts(mr.updated), TargetBranch: mr.target, SourceBranch: mr.source,
		SourceProjectID: p.id, TargetProjectID: p.id, Author: s.wireUser(mr.author), Labels: []string{},
		Draft: draft, WorkInProgress: draft, MergeStatus: "can_be_merged", DetailedMergeStatus: "mergeable",
		WebURL: fmt.Sprintf("%s/-/merge_requests/%d", s.projectWeb(p), mr.iid),
		References: wireReferences{Short: fmt.Sprintf("!%d", mr.iid), Relative: fmt.Sprintf("!%d", mr.iid),
			Full: fmt.Sprintf("%s!%d", p.path, mr.iid)},
	}
}
