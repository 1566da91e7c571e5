package jirafake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/agent-smith/agent-smith/trackers/jira/internal/adf"
)

type accountKey struct{}

func withUser(ctx context.Context, accountID string) context.Context {
	return context.WithValue(ctx, accountKey{}, accountID)
}

// caller is the account a request authenticated as; the fake without
// credentials treats every request as one anonymous user.
func (s *Server) caller(r *http.Request) User {
	id, _ := r.Context().Value(accountKey{}).(string)
	if u, ok := s.users[id]; ok {
		return u
	}
	return User{AccountID: "anonymous", DisplayName: "Anonymous", AccountType: "atlassian"}
}

// myself is GET /myself: the account the request authenticated as, with
// its accountType; an anonymous request gets 401, as on Jira Cloud.
func (s *Server) myself(w http.ResponseWriter, r *http.Request) {
	id, _ := r.Context().Value(accountKey{}).(string)
	u, ok := s.users[id]
	if !ok {
		s.writeJSON(w, http.StatusUnauthorized, messages("Client must be authenticated to access this resource."))
		return
	}
	me := s.wireUser(v3, u)
	me["locale"] = "en_US"
	me["groups"] = map[string]any{"size": 1, "items": []any{}}
	me["applicationRoles"] = map[string]any{"size": 1, "items": []any{}}
	s.writeJSON(w, http.StatusOK, me)
}

// requestedFields parses the fields parameter: names, *all or *navigable
// (every field); def when absent.
func requestedFields(list []string, def []string) []string {
	if len(list) == 0 {
		return def
	}
	var out []string
	for _, item := range list {
		for _, f := range strings.Split(item, ",") {
			f = strings.TrimSpace(f)
			if f == "*all" || f == "*navigable" {
				return allFields
			}
			if f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request, is *issue) {
	body := s.wireIssue(v3, is, requestedFields(r.URL.Query()["fields"], allFields))
	body["expand"] = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
	s.writeJSON(w, http.StatusOK, body)
}

// editIssue is PUT /issue/{key}: fields set values, update applies
// operations (labels: add, remove, set).
func (s *Server) editIssue(w http.ResponseWriter, r *http.Request, is *issue) {
	if !mediaTypeOK(r) {
		s.writeJSON(w, http.StatusUnsupportedMediaType, messages("Unsupported Media Type"))
		return
	}
	var req struct {
		Fields          map[string]json.RawMessage              `json:"fields"`
		Update          map[string][]map[string]json.RawMessage `json:"update"`
		Properties      []json.RawMessage                       `json:"properties"`
		HistoryMetadata json.RawMessage                         `json:"historyMetadata"`
	}
	if err := decode(r, &req); err != nil {
		s.writeJSON(w, http.StatusBadRequest, messages("Invalid request payload. Refer to the REST API documentation and try again."))
		return
	}
	next := *is
	next.labels = slices.Clone(is.labels)
	for field, raw := range req.Fields {
		if e, ok := s.setField(&next, field, "set", raw); !ok {
			s.writeJSON(w, http.StatusBadRequest, e)
			return
		}
	}
	for field, ops := range req.Update {
		if _, both := req.Fields[field]; both {
			s.writeJSON(w, http.StatusBadRequest, fieldError(field, fmt.Sprintf("Field '%s' cannot be updated in both fields and update.", field)))
			return
		}
		for _, op := range ops {
			for verb, raw := range op {
				if e, ok := s.setField(&next, field, verb, raw); !ok {
					s.writeJSON(w, http.StatusBadRequest, e)
					return
				}
			}
		}
	}
	next.updated = s.now()
	*is = next
	if r.URL.Query().Get("returnIssue") == "true" {
		s.writeJSON(w, http.StatusOK, s.wireIssue(v3, is, allFields))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func cannotSet(field string) wireError {
	return fieldError(field, fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", field))
}

// setField applies one operation to a copy of an issue.
func (s *Server) setField(is *issue, field, verb string, raw json.RawMessage) (wireError, bool) {
	switch field {
	case "summary":
		var v string
		if verb != "set" || json.Unmarshal(raw, &v) != nil || strings.TrimSpace(v) == "" {
			return fieldError("summary", "You must specify a summary of the issue."), false
		}
		is.summary = v
	case "description":
		if verb != "set" {
			return cannotSet(field), false
		}
		doc, e, ok := validDoc("description", raw)
		if !ok {
			return e, false
		}
		is.description = doc
	case "labels":
		switch verb {
		case "set":
			var v []string
			if json.Unmarshal(raw, &v) != nil {
				return fieldError("labels", "data was not an array"), false
			}
			for _, l := range v {
				if e, ok := validLabel(l); !ok {
					return e, false
				}
			}
			is.labels = v
		case "add", "remove":
			var l string
			if json.Unmarshal(raw, &l) != nil {
				return fieldError("labels", "Could not find valid 'id' or 'name' in label object."), false
			}
			if e, ok := validLabel(l); !ok {
				return e, false
			}
			if verb == "add" && !slices.Contains(is.labels, l) {
				is.labels = append(is.labels, l)
			}
			if verb == "remove" {
				is.labels = slices.DeleteFunc(is.labels, func(have string) bool { return have == l })
			}
		default:
			return fieldError("labels", fmt.Sprintf("Operation '%s' is not supported for field 'labels'.", verb)), false
		}
	default:
		return cannotSet(field), false
	}
	return wireError{}, true
}

func validLabel(l string) (wireError, bool) {
	switch {
	case l == "":
		return fieldError("labels", "The label can not be empty."), false
	case strings.ContainsFunc(l, unicode.IsSpace):
		return fieldError("labels", fmt.Sprintf("The label '%s' contains spaces which is invalid.", l)), false
	case len(l) > 255:
		return fieldError("labels", "The entered text is too long. It exceeds the allowed limit of 255 characters."), false
	}
	return wireError{}, true
}

// validDoc checks a rich-text value is an ADF document, as REST v3
// requires, and not empty.
func validDoc(field string, raw json.RawMessage) (json.RawMessage, wireError, bool) {
	notADF := fieldError(field, "Operation value must be an Atlassian Document (see the Atlassian Document Format)")
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, notADF, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var doc adf.Node
	if err := dec.Decode(&doc); err != nil || doc.Type != "doc" || doc.Version != 1 || !validNodes(doc.Content) {
		return nil, notADF, false
	}
	if strings.TrimSpace(adf.Text(doc)) == "" {
		return nil, fieldError(field, "Comment body can not be empty!"), false
	}
	return slices.Clone(raw), wireError{}, true
}

// validNodes checks what Jira's ADF validator checks first: every node has
// a type, and text nodes are not empty.
func validNodes(ns []adf.Node) bool {
	for _, n := range ns {
		if n.Type == "" || n.Type == "doc" || (n.Type == "text" && n.Text == "") || !validNodes(n.Content) {
			return false
		}
	}
	return true
}

// page reads startAt and maxResults (capped at the fake's maximum).
func (s *Server) page(r *http.Request, def int) (startAt, maxResults int) {
	q := r.URL.Query()
	startAt, _ = strconv.Atoi(q.Get("startAt"))
	maxResults = def
	if v, err := strconv.Atoi(q.Get("maxResults")); err == nil && v >= 0 {
		maxResults = v
	}
	return max(startAt, 0), min(maxResults, s.maxResults)
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, is *issue) {
	comments := slices.Clone(is.comments)
	if r.URL.Query().Get("orderBy") == "-created" {
		slices.Reverse(comments)
	}
	startAt, maxResults := s.page(r, 5000)
	from := min(startAt, len(comments))
	to := min(from+maxResults, len(comments))
	out := make([]map[string]any, 0, to-from)
	for _, c := range comments[from:to] {
		out = append(out, s.wireComment(v3, is, c))
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"startAt": startAt, "maxResults": maxResults, "total": len(comments), "comments": out})
}

type commentRequest struct {
	Body       json.RawMessage `json:"body"`
	Visibility json.RawMessage `json:"visibility"`
	Properties json.RawMessage `json:"properties"`
}

func (s *Server) addCommentHandler(w http.ResponseWriter, r *http.Request, is *issue) {
	var req commentRequest
	if !s.readComment(w, r, &req) {
		return
	}
	doc, e, ok := validDoc("comment", req.Body)
	if !ok {
		s.writeJSON(w, http.StatusBadRequest, e)
		return
	}
	c := s.addComment(is, doc, s.caller(r))
	w.Header().Set("Location", s.restURL(v3, "/issue/"+is.id+"/comment/"+c.id))
	s.writeJSON(w, http.StatusCreated, s.wireComment(v3, is, c))
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request, is *issue) {
	id := r.PathValue("id")
	i := slices.IndexFunc(is.comments, func(c *comment) bool { return c.id == id })
	if i < 0 {
		s.writeJSON(w, http.StatusNotFound, messages(fmt.Sprintf("Can not find a comment for the id: %s.", id)))
		return
	}
	var req commentRequest
	if !s.readComment(w, r, &req) {
		return
	}
	doc, e, ok := validDoc("comment", req.Body)
	if !ok {
		s.writeJSON(w, http.StatusBadRequest, e)
		return
	}
	c := is.comments[i]
	c.body, c.updated = doc, s.now()
	s.writeJSON(w, http.StatusOK, s.wireComment(v3, is, c))
}

func (s *Server) readComment(w http.ResponseWriter, r *http.Request, req *commentRequest) bool {
	if !mediaTypeOK(r) {
		s.writeJSON(w, http.StatusUnsupportedMediaType, messages("Unsupported Media Type"))
		return false
	}
	if err := decode(r, req); err != nil {
		s.writeJSON(w, http.StatusBadRequest, messages("Invalid request payload. Refer to the REST API documentation and try again."))
		return false
	}
	return true
}

func (s *Server) listTransitions(w http.ResponseWriter, r *http.Request, is *issue) {
	out := []map[string]any{}
	for _, t := range s.available(is) {
		out = append(out, s.wireTransition(t))
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"expand": "transitions", "transitions": out})
}

// doTransition is POST /issue/{key}/transitions: the transition by id,
// with an optional comment in update.comment.
func (s *Server) doTransition(w http.ResponseWriter, r *http.Request, is *issue) {
	if !mediaTypeOK(r) {
		s.writeJSON(w, http.StatusUnsupportedMediaType, messages("Unsupported Media Type"))
		return
	}
	var req struct {
		Transition *struct {
			ID     string `json:"id"`
			Looped bool   `json:"looped"`
		} `json:"transition"`
		Fields map[string]json.RawMessage `json:"fields"`
		Update map[string][]struct {
			Add *commentRequest `json:"add"`
		} `json:"update"`
		HistoryMetadata json.RawMessage   `json:"historyMetadata"`
		Properties      []json.RawMessage `json:"properties"`
	}
	if err := decode(r, &req); err != nil {
		s.writeJSON(w, http.StatusBadRequest, messages("Invalid request payload. Refer to the REST API documentation and try again."))
		return
	}
	if req.Transition == nil || req.Transition.ID == "" {
		s.writeJSON(w, http.StatusBadRequest, messages("Missing 'transition' identifier"))
		return
	}
	i := slices.IndexFunc(s.available(is), func(t Transition) bool { return t.ID == req.Transition.ID })
	if i < 0 {
		s.writeJSON(w, http.StatusBadRequest, messages(fmt.Sprintf("Transition id '%s' is not valid for this issue.", req.Transition.ID)))
		return
	}
	t := s.available(is)[i]
	if names := slices.Sorted(maps.Keys(req.Fields)); len(names) > 0 {
		s.writeJSON(w, http.StatusBadRequest, cannotSet(names[0]))
		return
	}
	var docs []json.RawMessage
	for field, ops := range req.Update {
		if field != "comment" || (s.strictScreens && !t.HasScreen) {
			s.writeJSON(w, http.StatusBadRequest, cannotSet(field))
			return
		}
		for _, op := range ops {
			if op.Add == nil {
				s.writeJSON(w, http.StatusBadRequest, fieldError("comment", "Only the 'add' operation is supported for comments."))
				return
			}
			doc, e, ok := validDoc("comment", op.Add.Body)
			if !ok {
				s.writeJSON(w, http.StatusBadRequest, e)
				return
			}
			docs = append(docs, doc)
		}
	}
	is.status, is.updated = t.To, s.now()
	for _, doc := range docs {
		s.addComment(is, doc, s.caller(r))
	}
	w.WriteHeader(http.StatusNoContent)
}

// search is POST /search/jql, Jira's enhanced search: JQL, fields (only
// the id when none are named), pages of maxResults linked by an opaque
// nextPageToken that the last page leaves out.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	var req struct {
		JQL             string   `json:"jql"`
		NextPageToken   string   `json:"nextPageToken"`
		MaxResults      *int     `json:"maxResults"`
		Fields          []string `json:"fields"`
		Expand          string   `json:"expand"`
		Properties      []string `json:"properties"`
		FieldsByKeys    bool     `json:"fieldsByKeys"`
		FailFast        bool     `json:"failFast"`
		ReconcileIssues []int64  `json:"reconcileIssues"`
	}
	if !mediaTypeOK(r) {
		s.writeJSON(w, http.StatusUnsupportedMediaType, messages("Unsupported Media Type"))
		return
	}
	if err := decode(r, &req); err != nil {
		s.writeJSON(w, http.StatusBadRequest, messages("Invalid request payload. Refer to the REST API documentation and try again."))
		return
	}
	q, err := s.parseJQL(req.JQL)
	if err != nil {
		msgs, ok := err.(jqlError)
		if !ok {
			msgs = jqlError{err.Error()}
		}
		s.writeJSON(w, http.StatusBadRequest, messages(msgs...))
		return
	}
	if q.where == nil {
		s.writeJSON(w, http.StatusBadRequest, messages("Unbounded JQL queries are not allowed here. Please add a search restriction to your query."))
		return
	}
	offset := 0
	if req.NextPageToken != "" {
		if offset, err = pageToken(req.JQL, req.NextPageToken); err != nil {
			s.writeJSON(w, http.StatusBadRequest, messages("The provided next page token is invalid or expired."))
			return
		}
	}
	maxResults := 50
	if req.MaxResults != nil && *req.MaxResults > 0 {
		maxResults = *req.MaxResults
	}
	maxResults = min(maxResults, s.maxResults)

	m := matcher{currentUser: s.caller(r).AccountID}
	var hits []*issue
	for _, is := range s.issues {
		if q.where.match(m, is) {
			hits = append(hits, is)
		}
	}
	sortIssues(hits, q.order)
	from := min(offset, len(hits))
	to := min(from+maxResults, len(hits))
	fields := requestedFields(req.Fields, []string{"id"})
	issues := make([]map[string]any, 0, to-from)
	for _, is := range hits[from:to] {
		if slices.Equal(fields, []string{"id"}) {
			issues = append(issues, map[string]any{"id": is.id})
			continue
		}
		issues = append(issues, s.wireIssue(v3, is, fields))
	}
	resp := map[string]any{"issues": issues, "isLast": to == len(hits)}
	if to < len(hits) {
		resp["nextPageToken"] = newPageToken(req.JQL, to)
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// Page tokens are opaque to clients; the fake's bind an offset to the
// query they continue, so a token used with another query is refused.
func newPageToken(jql string, offset int) string {
	sum := sha256.Sum256([]byte(jql))
	return base64.RawURLEncoding.EncodeToString([]byte(hex.EncodeToString(sum[:6]) + ":" + strconv.Itoa(offset)))
}

func pageToken(jql, token string) (int, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, err
	}
	sum := sha256.Sum256([]byte(jql))
	hash, off, ok := strings.Cut(string(raw), ":")
	if !ok || hash != hex.EncodeToString(sum[:6]) {
		return 0, fmt.Errorf("token of another query")
	}
	return strconv.Atoi(off)
}
