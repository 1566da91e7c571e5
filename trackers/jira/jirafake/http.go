package jirafake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// failure is a scripted refusal of a coming request.
type failure struct {
	status     int
	retryAfter time.Duration
}

// FailNext makes the next n requests fail with status before they reach
// the state: 429 as Jira's rate limiter answers (Retry-After and
// X-RateLimit-Reset when retryAfter is positive, RateLimit-Reason), or a
// 5xx (with Retry-After when positive, as Jira's 503 on a resource limit).
func (s *Server) FailNext(n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status: status, retryAfter: retryAfter})
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	const api = "/rest/api/3"
	mux.HandleFunc("GET "+api+"/myself", s.locked(s.myself))
	mux.HandleFunc("GET "+api+"/issue/{key}", s.withIssue(s.getIssue))
	mux.HandleFunc("PUT "+api+"/issue/{key}", s.withLabelHooks(s.withIssue(s.editIssue)))
	mux.HandleFunc("GET "+api+"/issue/{key}/comment", s.withIssue(s.listComments))
	mux.HandleFunc("POST "+api+"/issue/{key}/comment", s.withIssue(s.addCommentHandler))
	mux.HandleFunc("PUT "+api+"/issue/{key}/comment/{id}", s.withIssue(s.editComment))
	mux.HandleFunc("GET "+api+"/issue/{key}/transitions", s.withIssue(s.listTransitions))
	mux.HandleFunc("POST "+api+"/issue/{key}/transitions", s.withIssue(s.doTransition))
	mux.HandleFunc("POST "+api+"/search/jql", s.locked(s.search))
	// The old search endpoints were removed from Jira Cloud; clients still
	// calling them get what Jira answers.
	for _, old := range []string{"GET " + api + "/search", "POST " + api + "/search"} {
		mux.HandleFunc(old, s.locked(func(w http.ResponseWriter, r *http.Request) {
			s.writeJSON(w, http.StatusGone, messages("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"))
		}))
	}
	mux.HandleFunc("/", s.locked(func(w http.ResponseWriter, r *http.Request) {
		s.writeJSON(w, http.StatusNotFound, messages("null for uri: "+s.URL+r.URL.Path))
	}))
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

// gate records every request and answers scripted failures and missing or
// wrong credentials before any handler runs.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.mu.Lock()
			path := r.URL.Path
			if r.URL.RawQuery != "" {
				path += "?" + r.URL.RawQuery
			}
			s.requests = append(s.requests, Request{Method: r.Method, Path: path, Status: rec.status, Body: body})
			s.mu.Unlock()
		}()
		s.mu.Lock()
		if len(s.failures) > 0 {
			f := s.failures[0]
			s.failures = s.failures[1:]
			s.refuse(rec, f)
			s.mu.Unlock()
			return
		}
		account, ok := s.authenticate(r)
		if !ok {
			rec.Header().Set("WWW-Authenticate", `Basic realm="protected-area"`)
			s.writeJSON(rec, http.StatusUnauthorized, messages("Client must be authenticated to access this resource."))
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		next.ServeHTTP(rec, r.WithContext(withUser(r.Context(), account)))
	})
}

// authenticate maps the Authorization header to an account id ("" for an
// anonymous request the fake accepts because it has no credentials).
func (s *Server) authenticate(r *http.Request) (string, bool) {
	if len(s.credentials) == 0 {
		return "", true
	}
	account, ok := s.credentials[r.Header.Get("Authorization")]
	return account, ok
}

func (s *Server) refuse(w http.ResponseWriter, f failure) {
	h := w.Header()
	secs := int(f.retryAfter.Round(time.Second) / time.Second)
	if f.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	if f.status != http.StatusTooManyRequests {
		s.writeJSON(w, f.status, messages(http.StatusText(f.status)))
		return
	}
	if f.retryAfter > 0 {
		h.Set("X-RateLimit-Reset", time.Now().UTC().Add(f.retryAfter).Format("2006-01-02T15:04Z"))
	}
	h.Set("X-RateLimit-Limit", "100")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("RateLimit-Reason", "jira-quota-based")
	s.writeJSON(w, http.StatusTooManyRequests, messages("Rate limit exceeded."))
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("X-Arequestid", strconv.FormatInt(time.Now().UnixNano(), 36))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// locked runs h with the state locked.
func (s *Server) locked(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		h(w, r)
	}
}

// withIssue resolves {key} (a key or an id) and runs h with the state
// locked. Like Jira, an issue that does not exist and one the user may not
// see answer the same 404.
func (s *Server) withIssue(h func(http.ResponseWriter, *http.Request, *issue)) http.HandlerFunc {
	return s.locked(func(w http.ResponseWriter, r *http.Request) {
		is, ok := s.lookup(r.PathValue("key"))
		if !ok {
			s.writeJSON(w, http.StatusNotFound, messages("Issue does not exist or you do not have permission to see it."))
			return
		}
		h(w, r, is)
	})
}

// withLabelHooks runs the hooks OnNextLabelWrite queued for the issue,
// outside the lock so they can edit it, before the write is applied.
func (s *Server) withLabelHooks(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		var hooks []func()
		if is, ok := s.lookup(r.PathValue("key")); ok {
			hooks = s.takeLabelHooks(is.key)
		}
		s.mu.Unlock()
		for _, fn := range hooks {
			fn()
		}
		h(w, r)
	}
}

// decode reads a JSON request body strictly: unknown properties are
// refused, as Jira's endpoints with typed request beans do.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func mediaTypeOK(r *http.Request) bool {
	return strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "application/json")
}
