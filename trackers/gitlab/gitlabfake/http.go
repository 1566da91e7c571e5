package gitlabfake

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const apiPrefix = "/api/v4"

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	const p = apiPrefix + "/projects/{id}"
	mux.HandleFunc("GET "+apiPrefix+"/user", s.currentUser)
	mux.HandleFunc("GET "+p, s.withProject(s.getProject))
	mux.HandleFunc("GET "+p+"/issues", s.withProject(s.listIssues))
	mux.HandleFunc("GET "+p+"/issues/{iid}", s.withIssue(s.getIssue))
	mux.HandleFunc("PUT "+p+"/issues/{iid}", s.withIssue(s.editIssue))
	mux.HandleFunc("GET "+p+"/issues/{iid}/notes", s.withIssue(s.listNotes))
	mux.HandleFunc("POST "+p+"/issues/{iid}/notes", s.withIssue(s.createNote))
	mux.HandleFunc("PUT "+p+"/issues/{iid}/notes/{note}", s.withIssue(s.editNote))
	mux.HandleFunc("POST "+p+"/labels", s.withProject(s.createLabel))
	mux.HandleFunc("GET "+p+"/members/all", s.withProject(s.listMembers))
	mux.HandleFunc("GET "+p+"/merge_requests", s.withProject(s.listMRs))
	mux.HandleFunc("POST "+p+"/merge_requests", s.withProject(s.createMR))
	mux.HandleFunc("GET "+p+"/merge_requests/{iid}", s.withProject(s.getMR))
	mux.HandleFunc("PUT "+p+"/merge_requests/{iid}", s.withProject(s.editMR))
	mux.HandleFunc(apiPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		s.writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
	})
	return s.gate(mux)
}

// recorder notes the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

type callerKey struct{}

func contextWith(ctx context.Context, uid int64) context.Context {
	return context.WithValue(ctx, callerKey{}, uid)
}

// callerOf is the user id gate authenticated the request as.
func callerOf(r *http.Request) int64 {
	uid, _ := r.Context().Value(callerKey{}).(int64)
	return uid
}

// gate records every request, answers scripted refusals and missing or
// wrong tokens before any handler runs, and hands the caller's user id to
// the handler in the request context.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.mu.Lock()
			path := strings.TrimPrefix(r.URL.EscapedPath(), apiPrefix)
			if r.URL.RawQuery != "" {
				path += "?" + r.URL.RawQuery
			}
			s.requests = append(s.requests, Request{Method: r.Method, Path: path, Status: rec.status})
			s.mu.Unlock()
		}()
		s.mu.Lock()
		if len(s.refusals) > 0 {
			ref := s.refusals[0]
			s.refusals = s.refusals[1:]
			s.mu.Unlock()
			refuse(rec, ref)
			return
		}
		uid, ok := s.caller(r)
		s.mu.Unlock()
		if !ok {
			s.writeJSON(rec, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
			return
		}
		next.ServeHTTP(rec, r.WithContext(contextWith(r.Context(), uid)))
	})
}

// caller is the user a request authenticates as.
func (s *Server) caller(r *http.Request) (int64, bool) {
	if len(s.tokens) == 0 {
		return s.mustUser("root").id, true
	}
	tok := r.Header.Get("PRIVATE-TOKEN")
	if tok == "" {
		if scheme, bearer, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") {
			tok = bearer
		}
	}
	uid, ok := s.tokens[tok]
	return uid, ok && tok != ""
}

func refuse(w http.ResponseWriter, ref Refusal) {
	h := w.Header()
	if ref.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(ref.RetryAfter.Round(time.Second)/time.Second)))
	}
	if ref.Status != http.StatusTooManyRequests {
		body, _ := json.Marshal(map[string]string{"message": fmt.Sprintf("%d %s", ref.Status, http.StatusText(ref.Status))})
		h.Set("Content-Type", "application/json")
		w.WriteHeader(ref.Status)
		_, _ = w.Write(body)
		return
	}
	// GitLab's Rack::Attack throttle answers in plain text.
	h.Set("RateLimit-Name", "throttle_authenticated_api")
	h.Set("RateLimit-Limit", "2000")
	h.Set("RateLimit-Observed", "2000")
	h.Set("RateLimit-Remaining", "0")
	if ref.ResetIn > 0 {
		reset := time.Now().Add(ref.ResetIn)
		h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
	}
	h.Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte("Retry later\n"))
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// message answers with GitLab's {"message": …} error body.
func (s *Server) message(w http.ResponseWriter, status int, msg any) {
	s.writeJSON(w, status, map[string]any{"message": msg})
}

// badParam answers as GitLab's parameter validation does: 400 with
// {"error": …}.
func (s *Server) badParam(w http.ResponseWriter, msg string) {
	s.writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}

// page slices n items by the request's per_page and page and sets
// GitLab's offset pagination headers.
func (s *Server) page(w http.ResponseWriter, r *http.Request, n int) (from, to int) {
	q := r.URL.Query()
	per := 20
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = v
	}
	per = min(per, 100, s.maxPerPage)
	pg := 1
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		pg = v
	}
	last := max(1, (n+per-1)/per)
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(pg))
	h.Set("X-Per-Page", strconv.Itoa(per))
	h.Set("X-Total", strconv.Itoa(n))
	h.Set("X-Total-Pages", strconv.Itoa(last))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	link := func(p int, rel string) string {
		u := url.Values{}
		for k, vs := range q {
			u[k] = vs
		}
		u.Set("per_page", strconv.Itoa(per))
		u.Set("page", strconv.Itoa(p))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.URL, r.URL.EscapedPath(), u.Encode(), rel)
	}
	links := []string{}
	if pg < last {
		h.Set("X-Next-Page", strconv.Itoa(pg+1))
		links = append(links, link(pg+1, "next"))
	}
	if pg > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(pg-1))
		links = append(links, link(pg-1, "prev"))
	}
	links = append(links, link(1, "first"), link(last, "last"))
	h.Set("Link", strings.Join(links, ", "))
	from = min((pg-1)*per, n)
	return from, min(from+per, n)
}

// withProject resolves {id} (a numeric id or a URL-encoded path) and runs
// h with the state locked. Like GitLab it answers 404 for projects the
// caller is not a member of, rather than revealing they exist.
func (s *Server) withProject(h func(http.ResponseWriter, *http.Request, *project)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		p := s.lookupProject(r.PathValue("id"))
		if p == nil || s.level(r, p) == 0 {
			s.message(w, http.StatusNotFound, "404 Project Not Found")
			return
		}
		h(w, r, p)
	}
}

// withIssue resolves {iid} too; issue edits first run the hooks
// OnNextLabelWrite queued, outside the lock, so they can edit the issue.
func (s *Server) withIssue(h func(http.ResponseWriter, *http.Request, *project, *issue)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && !strings.Contains(r.URL.Path, "/notes/") {
			s.runLabelHooks(r)
		}
		s.withProject(func(w http.ResponseWriter, r *http.Request, p *project) {
			iid, err := strconv.Atoi(r.PathValue("iid"))
			is, ok := p.issues[iid]
			if err != nil || !ok {
				s.message(w, http.StatusNotFound, "404 Issue Not Found")
				return
			}
			h(w, r, p, is)
		})(w, r)
	}
}

func (s *Server) runLabelHooks(r *http.Request) {
	iid, err := strconv.Atoi(r.PathValue("iid"))
	if err != nil {
		return
	}
	s.mu.Lock()
	var hooks []func()
	if p := s.lookupProject(r.PathValue("id")); p != nil {
		hooks = s.takeLabelHooks(p, iid)
	}
	s.mu.Unlock()
	for _, fn := range hooks {
		fn()
	}
}

func (s *Server) lookupProject(id string) *project {
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		for _, p := range s.projects {
			if p.id == n {
				return p
			}
		}
		return nil
	}
	return s.projects[strings.ToLower(id)]
}

// level is the caller's access level in a project; administrators have
// owner rights everywhere.
func (s *Server) level(r *http.Request, p *project) int {
	u := s.users[callerOf(r)]
	if u == nil {
		return 0
	}
	if u.admin {
		return AccessOwner
	}
	return p.members[u.id]
}

// input is a request's parameters: a JSON body (what client libraries
// send) or form and query values, as GitLab accepts either.
type input struct {
	json map[string]json.RawMessage
	form url.Values
}

func readInput(r *http.Request) (input, error) {
	in := input{form: r.URL.Query()}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		if err := json.NewDecoder(r.Body).Decode(&in.json); err != nil {
			return in, fmt.Errorf("400 Bad request - %v", err)
		}
		return in, nil
	}
	if err := r.ParseForm(); err != nil {
		return in, fmt.Errorf("400 Bad request - %v", err)
	}
	in.form = r.Form
	return in, nil
}

// str is a string parameter.
func (in input) str(key string) (string, bool) {
	if raw, ok := in.json[key]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, true
		}
		return strings.Trim(string(raw), `"`), true
	}
	if vs, ok := in.form[key]; ok && len(vs) > 0 {
		return vs[0], true
	}
	return "", false
}

// list is a label list: a comma-separated string or an array.
func (in input) list(key string) ([]string, bool) {
	var out []string
	if raw, ok := in.json[key]; ok {
		if json.Unmarshal(raw, &out) == nil {
			return trimAll(out), true
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return trimAll(strings.Split(s, ",")), true
		}
		return nil, true
	}
	if vs, ok := in.form[key]; ok {
		for _, v := range vs {
			out = append(out, strings.Split(v, ",")...)
		}
		return trimAll(out), true
	}
	return nil, false
}

func trimAll(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
