package jirafake

import (
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strconv"
)

// jiraTime is how Jira writes timestamps: milliseconds and an offset
// without a colon.
const jiraTime = "2006-01-02T15:04:05.000-0700"

// apiVersion is the REST API version a representation belongs to: the API
// answers in v3 (ADF bodies), webhooks carry v2 (bodies as text).
type apiVersion string

const (
	v3 apiVersion = "3"
	v2 apiVersion = "2"
)

func (s *Server) restURL(v apiVersion, path string) string {
	return s.URL + "/rest/api/" + string(v) + path
}

func (s *Server) wireUser(v apiVersion, u User) map[string]any {
	avatar := "https://secure.gravatar.com/avatar/" + url.PathEscape(u.AccountID)
	out := map[string]any{
		"self":        s.restURL(v, "/user?accountId="+url.QueryEscape(u.AccountID)),
		"accountId":   u.AccountID,
		"displayName": u.DisplayName,
		"active":      true,
		"timeZone":    "Etc/UTC",
		"accountType": u.AccountType,
		"avatarUrls": map[string]string{
			"48x48": avatar + "?s=48", "24x24": avatar + "?s=24", "16x16": avatar + "?s=16", "32x32": avatar + "?s=32",
		},
	}
	if u.Email != "" {
		out["emailAddress"] = u.Email
	}
	return out
}

// statusID is the id the fake gives status name.
func (s *Server) statusID(name string) string {
	st, _ := s.status(name)
	id := "1"
	for i, have := range s.statuses {
		if have.Name == st.Name {
			id = strconv.Itoa(10000 + i)
		}
	}
	return id
}

func (s *Server) wireStatus(v apiVersion, name string) map[string]any {
	st, _ := s.status(name)
	id := s.statusID(name)
	cat := map[string]map[string]any{
		"new":           {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
		"indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
		"done":          {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
	}[st.Category]
	cat = maps.Clone(cat)
	cat["self"] = s.restURL(v, "/statuscategory/"+strconv.Itoa(cat["id"].(int)))
	return map[string]any{
		"self": s.restURL(v, "/status/"+id), "description": "", "iconUrl": s.URL + "/", "name": st.Name, "id": id,
		"statusCategory": cat,
	}
}

func (s *Server) wireProject(v apiVersion, p *project) map[string]any {
	return map[string]any{
		"self": s.restURL(v, "/project/"+p.id), "id": p.id, "key": p.key, "name": p.name,
		"projectTypeKey": "software", "simplified": false,
	}
}

func (s *Server) wireIssueType(v apiVersion) map[string]any {
	return map[string]any{
		"self": s.restURL(v, "/issuetype/10001"), "id": "10001", "description": "A small, distinct piece of work.",
		"name": "Task", "subtask": false, "hierarchyLevel": 0,
	}
}

// allFields are the fields wireIssue can show, in Jira's names.
var allFields = []string{"summary", "description", "status", "labels", "assignee", "reporter", "project", "issuetype", "priority", "created", "updated"}

// wireIssue is an issue in REST v3 (ADF description) or v2 (description as
// text, as webhooks carry it) shape, with only the named fields.
func (s *Server) wireIssue(v apiVersion, is *issue, fields []string) map[string]any {
	f := map[string]any{}
	for _, name := range fields {
		switch name {
		case "summary":
			f[name] = is.summary
		case "description":
			f[name] = s.wireBody(v, is.description)
		case "status":
			f[name] = s.wireStatus(v, is.status)
		case "labels":
			f[name] = slices.Clone(is.labels)
			if is.labels == nil {
				f[name] = []string{}
			}
		case "assignee":
			f[name] = nil
			if is.assignee != nil {
				f[name] = s.wireUser(v, *is.assignee)
			}
		case "reporter":
			f[name] = s.wireUser(v, is.reporter)
		case "project":
			f[name] = s.wireProject(v, is.project)
		case "issuetype":
			f[name] = s.wireIssueType(v)
		case "priority":
			f[name] = map[string]any{"self": s.restURL(v, "/priority/3"), "name": "Medium", "id": "3"}
		case "created":
			f[name] = is.created.Format(jiraTime)
		case "updated":
			f[name] = is.updated.Format(jiraTime)
		}
	}
	return map[string]any{"id": is.id, "self": s.restURL(v, "/issue/"+is.id), "key": is.key, "fields": f}
}

// wireBody is a rich-text value: the ADF document in v3, its text in v2.
func (s *Server) wireBody(v apiVersion, raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	if v == v2 {
		return text(raw)
	}
	return raw
}

func (s *Server) wireComment(v apiVersion, is *issue, c *comment) map[string]any {
	return map[string]any{
		"self":         s.restURL(v, "/issue/"+is.id+"/comment/"+c.id),
		"id":           c.id,
		"author":       s.wireUser(v, c.author),
		"body":         s.wireBody(v, c.body),
		"updateAuthor": s.wireUser(v, c.author),
		"created":      c.created.Format(jiraTime),
		"updated":      c.updated.Format(jiraTime),
		"jsdPublic":    true,
	}
}

func (s *Server) wireTransition(t Transition) map[string]any {
	return map[string]any{
		"id": t.ID, "name": t.Name, "to": s.wireStatus(v3, t.To), "hasScreen": t.HasScreen,
		"isGlobal": len(t.From) == 0, "isInitial": false, "isAvailable": true, "isConditional": false, "isLooped": false,
	}
}

// wireError is Jira's error body.
type wireError struct {
	ErrorMessages []string          `json:"errorMessages"`
	Errors        map[string]string `json:"errors"`
}

func messages(msgs ...string) wireError {
	return wireError{ErrorMessages: msgs, Errors: map[string]string{}}
}

func fieldError(field, msg string) wireError {
	return wireError{ErrorMessages: []string{}, Errors: map[string]string{field: msg}}
}
