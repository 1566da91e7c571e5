package adofake

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func (s *Server) workItemNotFound(w http.ResponseWriter, id string) {
	s.fail(w, http.StatusNotFound, "TF401232: Work item "+id+" does not exist, or you do not have permissions to read it.", "WorkItemUnauthorizedAccessException")
}

// itemLocked resolves a work item id segment; the caller holds s.mu.
func (s *Server) itemLocked(w http.ResponseWriter, seg string) (*WorkItem, bool) {
	id, err := strconv.Atoi(seg)
	it, ok := s.items[id]
	if err != nil || !ok {
		s.workItemNotFound(w, seg)
		return nil, false
	}
	return it, true
}

// knownField is a field reference name the fake knows, in its canonical
// spelling.
func knownField(name string) (string, bool) {
	for _, f := range []string{"System.Id", "System.Rev", "System.AreaPath", "System.TeamProject", "System.IterationPath",
		"System.WorkItemType", "System.State", "System.CreatedDate", "System.CreatedBy", "System.ChangedDate",
		"System.ChangedBy", "System.CommentCount", "System.Title", "System.AssignedTo", "System.Description",
		"System.Tags", "System.History"} {
		if strings.EqualFold(f, name) {
			return f, true
		}
	}
	return "", false
}

// fieldList checks a list of field names, answering 400 for an unknown one.
func (s *Server) fieldList(w http.ResponseWriter, names []string) ([]string, bool) {
	var out []string
	for _, n := range names {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		f, ok := knownField(n)
		if !ok {
			s.fail(w, http.StatusBadRequest, "TF51535: Cannot find field "+n+".", "WorkItemFieldInvalidException")
			return nil, false
		}
		out = append(out, f)
	}
	return out, true
}

func (s *Server) getWorkItem(w http.ResponseWriter, r *http.Request, rt route) {
	var only []string
	if f := r.URL.Query().Get("fields"); f != "" {
		var ok bool
		if only, ok = s.fieldList(w, strings.Split(f, ",")); !ok {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.itemLocked(w, rt.parts[2])
	if !ok {
		return
	}
	s.reply(w, http.StatusOK, s.workItemJSON(snapshot(it), only))
}

// patchOp is a JSON Patch operation.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// patchWorkItem applies a JSON Patch document atomically: a failed test
// refuses all of it (412), an invalid operation too (400). System.History
// adds a comment, as on Azure DevOps.
func (s *Server) patchWorkItem(w http.ResponseWriter, r *http.Request, rt route) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json-patch+json" {
		s.fail(w, http.StatusUnsupportedMediaType, "The request contains an entity body but no Content-Type header. The inferred media type 'application/octet-stream' is not supported for this resource.", "UnsupportedMediaTypeException")
		return
	}
	var ops []patchOp
	if err := decode(r, &ops); err != nil || len(ops) == 0 {
		s.fail(w, http.StatusBadRequest, "You must pass a valid patch document in the body of the request.", "VssPropertyValidationException")
		return
	}
	id, _ := strconv.Atoi(rt.parts[2])
	for _, fn := range s.takePatchHooks(id) {
		fn()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.itemLocked(w, rt.parts[2])
	if !ok {
		return
	}
	next := snapshot(it)
	var history []string
	for _, op := range ops {
		status, msg, key := s.applyOp(&next, op, &history)
		if status != 0 {
			s.fail(w, status, msg, key)
			return
		}
	}
	*it = next
	who, _ := s.callerLocked(r)
	for _, h := range history {
		s.addCommentLocked(it, h, "html", who)
	}
	if len(history) == 0 {
		s.revise(it, who)
	}
	s.reply(w, http.StatusOK, s.workItemJSON(snapshot(it), nil))
}

// applyOp applies one operation to w, or says why it cannot be.
func (s *Server) applyOp(w *WorkItem, op patchOp, history *[]string) (status int, msg, typeKey string) {
	str := func() (string, bool) {
		var v string
		return v, json.Unmarshal(op.Value, &v) == nil
	}
	switch strings.ToLower(op.Op) {
	case "test":
		if !strings.EqualFold(op.Path, "/rev") {
			return http.StatusBadRequest, "The test operation is supported for /rev only.", "VssPropertyValidationException"
		}
		var rev int
		if json.Unmarshal(op.Value, &rev) != nil || rev != w.Rev {
			return http.StatusPreconditionFailed, fmt.Sprintf("TF26071: This work item has been changed by someone else since you opened it. You will need to refresh it and discard your changes. (expected revision %s, current %d)", op.Value, w.Rev), "WorkItemRevisionMismatchException"
		}
		return 0, "", ""
	case "add", "replace":
	default:
		return http.StatusBadRequest, "Operation " + op.Op + " is not supported on work item fields.", "VssPropertyValidationException"
	}
	name, isField := strings.CutPrefix(op.Path, "/fields/")
	field, known := knownField(name)
	if !isField || !known {
		return http.StatusBadRequest, "TF51535: Cannot find field " + name + ".", "WorkItemFieldInvalidException"
	}
	v, ok := str()
	if !ok {
		return http.StatusBadRequest, "The value for field " + field + " is not a string.", "VssPropertyValidationException"
	}
	switch field {
	case "System.Tags":
		if strings.EqualFold(op.Op, "add") {
			w.Tags = mergeTags(w.Tags, splitTags(v))
		} else {
			w.Tags = mergeTags(nil, splitTags(v))
		}
	case "System.State":
		states := s.states[strings.ToLower(w.Type)]
		i := slices.IndexFunc(states, func(st string) bool { return strings.EqualFold(st, v) })
		if i < 0 {
			return http.StatusBadRequest, "TF401320: Rule Error for field State. Error code: Required, HasValues, LimitedToValues, AllowsOldValue, InvalidEmpty.", "RuleValidationException"
		}
		if to, ok := s.transitions[strings.ToLower(w.Type+"/"+w.State)]; ok && !containsFold(to, states[i]) && !strings.EqualFold(w.State, states[i]) {
			return http.StatusBadRequest, "TF401320: Rule Error for field State. Error code: LimitedToValues, AllowsOldValue.", "RuleValidationException"
		}
		w.State = states[i]
	case "System.History":
		if v != "" {
			*history = append(*history, v)
		}
	case "System.Title":
		if strings.TrimSpace(v) == "" {
			return http.StatusBadRequest, "TF401320: Rule Error for field Title. Error code: Required, InvalidEmpty.", "RuleValidationException"
		}
		w.Title = v
	case "System.Description":
		w.Description = v
	case "System.AreaPath":
		w.AreaPath = v
	default:
		return http.StatusBadRequest, "TF51535: Field " + field + " is read-only.", "WorkItemFieldInvalidException"
	}
	return 0, "", ""
}

func (s *Server) batchWorkItems(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		IDs         []int    `json:"ids"`
		Fields      []string `json:"fields"`
		ErrorPolicy string   `json:"errorPolicy"`
	}
	if err := decode(r, &req); err != nil || len(req.IDs) == 0 {
		s.fail(w, http.StatusBadRequest, "VS403493: The request body must name the ids of the work items to read.", "VssPropertyValidationException")
		return
	}
	if len(req.IDs) > s.maxBatch {
		s.fail(w, http.StatusBadRequest, fmt.Sprintf("VS402337: The number of work items requested (%d) exceeds the limit of %d per batch.", len(req.IDs), s.maxBatch), "VssPropertyValidationException")
		return
	}
	only, ok := s.fieldList(w, req.Fields)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	values := make([]any, 0, len(req.IDs))
	for _, id := range req.IDs {
		it, ok := s.items[id]
		switch {
		case ok:
			values = append(values, s.workItemJSON(snapshot(it), only))
		case strings.EqualFold(req.ErrorPolicy, "omit"):
			values = append(values, nil)
		default:
			s.workItemNotFound(w, itoa(id))
			return
		}
	}
	s.reply(w, http.StatusOK, map[string]any{"count": len(values), "value": values})
}

func (s *Server) queryWIQL(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		Query string `json:"query"`
	}
	if err := decode(r, &req); err != nil || strings.TrimSpace(req.Query) == "" {
		s.fail(w, http.StatusBadRequest, "VS402336: The query is empty.", "WiqlSyntaxException")
		return
	}
	q, err := parseWIQL(req.Query)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "TF51006: The query statement is not valid. "+err.Error(), "WiqlSyntaxException")
		return
	}
	top := -1
	if v := r.URL.Query().Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.fail(w, http.StatusBadRequest, "The value of $top is not valid.", "VssPropertyValidationException")
			return
		}
		top = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []WorkItem
	for _, it := range s.items {
		ok, err := q.where.eval(*it, rt.project)
		if err != nil {
			s.fail(w, http.StatusBadRequest, err.Error(), "WiqlSyntaxException")
			return
		}
		if ok {
			matched = append(matched, *it)
		}
	}
	sort.Slice(matched, func(i, j int) bool {
		if q.desc {
			return matched[i].ID > matched[j].ID
		}
		return matched[i].ID < matched[j].ID
	})
	if top < 0 && len(matched) > s.wiqlLimit {
		s.fail(w, http.StatusBadRequest, fmt.Sprintf("VS402337: The number of work items returned exceeds the size limit of %d. Change the query to return fewer items.", s.wiqlLimit), "WorkItemTrackingQueryResultSizeLimitExceededException")
		return
	}
	if top >= 0 && len(matched) > top {
		matched = matched[:top]
	}
	refs := make([]map[string]any, len(matched))
	for i, it := range matched {
		refs[i] = map[string]any{"id": it.ID, "url": s.apiURL(it.Project, "wit/workItems/"+itoa(it.ID))}
	}
	s.reply(w, http.StatusOK, map[string]any{
		"queryType": "flat", "queryResultType": "workItem", "asOf": adoTime(timeNow()),
		"columns":     []map[string]string{{"referenceName": "System.Id", "name": "ID", "url": s.OrgURL() + "/_apis/wit/fields/System.Id"}},
		"sortColumns": []map[string]any{{"field": map[string]string{"referenceName": "System.Id", "name": "ID"}, "descending": q.desc}},
		"workItems":   refs,
	})
}

// commentFormat reads the format query parameter (name or number).
func commentFormat(r *http.Request) string {
	switch strings.ToLower(r.URL.Query().Get("format")) {
	case "markdown", "0":
		return "markdown"
	}
	return "html"
}

// listComments serves a page of comments: $top (capped), order (default
// newest first, as on Azure DevOps) and an opaque continuationToken.
func (s *Server) listComments(w http.ResponseWriter, r *http.Request, rt route) {
	q := r.URL.Query()
	top := s.commentsPage
	if v, err := strconv.Atoi(q.Get("$top")); err == nil && v > 0 {
		top = min(v, s.commentsPage)
	}
	start := 0
	if tok := q.Get("continuationToken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "c"))
		if err != nil || n < 0 {
			s.fail(w, http.StatusBadRequest, "The continuation token is not valid.", "InvalidContinuationTokenException")
			return
		}
		start = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.itemLocked(w, rt.parts[2])
	if !ok {
		return
	}
	var live []Comment
	for _, c := range it.Comments {
		if !c.Deleted {
			live = append(live, c)
		}
	}
	if !strings.EqualFold(q.Get("order"), "asc") {
		slices.Reverse(live)
	}
	start = min(start, len(live))
	end := min(start+top, len(live))
	page := make([]map[string]any, 0, end-start)
	for _, c := range live[start:end] {
		page = append(page, s.commentJSON(*it, c))
	}
	out := map[string]any{"totalCount": len(live), "count": len(page), "comments": page}
	if end < len(live) {
		tok := "c" + itoa(end)
		out["continuationToken"] = tok
		out["nextPage"] = s.apiURL(it.Project, "wit/workItems/"+itoa(it.ID)+"/comments?continuationToken="+tok)
	}
	s.reply(w, http.StatusOK, out)
}

func (s *Server) addComment(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		Text string `json:"text"`
	}
	if err := decode(r, &req); err != nil || strings.TrimSpace(req.Text) == "" {
		s.fail(w, http.StatusBadRequest, "VS403480: The comment text must not be empty.", "VssPropertyValidationException")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.itemLocked(w, rt.parts[2])
	if !ok {
		return
	}
	who, _ := s.callerLocked(r)
	c := s.addCommentLocked(it, req.Text, commentFormat(r), who)
	s.reply(w, http.StatusOK, s.commentJSON(*it, c))
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request, rt route) {
	var req struct {
		Text string `json:"text"`
	}
	if err := decode(r, &req); err != nil || strings.TrimSpace(req.Text) == "" {
		s.fail(w, http.StatusBadRequest, "VS403480: The comment text must not be empty.", "VssPropertyValidationException")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.itemLocked(w, rt.parts[2])
	if !ok {
		return
	}
	cid, _ := strconv.Atoi(rt.parts[4])
	i := slices.IndexFunc(it.Comments, func(c Comment) bool { return c.ID == cid && !c.Deleted })
	if i < 0 {
		s.fail(w, http.StatusNotFound, "VS403481: Comment "+rt.parts[4]+" does not exist on work item "+itoa(it.ID)+".", "CommentNotFoundException")
		return
	}
	c := &it.Comments[i]
	c.Text, c.Format, c.Version, c.ModifiedDate = req.Text, commentFormat(r), c.Version+1, timeNow()
	s.reply(w, http.StatusOK, s.commentJSON(*it, *c))
}

func (s *Server) listStates(w http.ResponseWriter, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	states, ok := s.states[strings.ToLower(rt.parts[2])]
	if !ok {
		s.fail(w, http.StatusNotFound, "VS402323: Work item type "+rt.parts[2]+" does not exist.", "WorkItemTypeNotFoundException")
		return
	}
	values := make([]map[string]string, len(states))
	for i, st := range states {
		category := "InProgress"
		switch {
		case i == 0:
			category = "Proposed"
		case strings.EqualFold(st, "Resolved"):
			category = "Resolved"
		case strings.EqualFold(st, "Closed"):
			category = "Completed"
		case strings.EqualFold(st, "Removed"):
			category = "Removed"
		}
		values[i] = map[string]string{"name": st, "color": "b2b2b2", "category": category}
	}
	s.reply(w, http.StatusOK, map[string]any{"count": len(values), "value": values})
}
