package githubfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

const docsRoot = "https://docs.github.com/rest"

// secondaryDocs is the documentation_url GitHub sends with a secondary
// rate-limit refusal; clients recognise the refusal by it.
const secondaryDocs = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"

type rateState struct {
	limit, remaining int
	reset            time.Time
}

type throttle struct {
	secondary  bool
	retryAfter time.Duration
	reset      time.Time
	// status, when set, is a plain server error instead of a rate limit.
	status int
}

// FailNext makes the next n requests fail with status (a 5xx, as GitHub
// answers during an incident) before they reach the state.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.throttle = append(s.throttle, throttle{status: status})
	}
}

// refusal is a FailRequests rule.
type refusal struct {
	method, pattern string
	status          int
}

// FailRequests makes every request with method whose path (without
// /api/v3) matches pattern (path.Match: "/repos/acme/shop/issues/*/labels")
// fail with status and GitHub's answer to a token without the permission,
// from now on: a tracker that refuses one kind of write for good. It
// returns a function that lifts the rule.
func (s *Server) FailRequests(method, pattern string, status int) (lift func()) {
	if _, err := path.Match(pattern, "/"); err != nil {
		panic("githubfake: bad pattern " + pattern + ": " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rule := refusal{method: method, pattern: pattern, status: status}
	s.refusals = append(s.refusals, rule)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.refusals = slices.DeleteFunc(s.refusals, func(r refusal) bool { return r == rule })
	}
}

// refused is the status of the first FailRequests rule r matches, or 0.
// s.mu is held.
func (s *Server) refused(r *http.Request) int {
	p := strings.TrimPrefix(r.URL.Path, "/api/v3")
	for _, rule := range s.refusals {
		if ok, _ := path.Match(rule.pattern, p); ok && rule.method == r.Method {
			return rule.status
		}
	}
	return 0
}

// LimitPrimary makes the next n requests fail as GitHub does when the
// primary rate limit is used up: 403, X-RateLimit-Remaining 0 and
// X-RateLimit-Reset resetIn from now.
func (s *Server) LimitPrimary(n int, resetIn time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.throttle = append(s.throttle, throttle{reset: time.Now().Add(resetIn)})
	}
}

// LimitSecondary makes the next n requests fail with a secondary rate limit
// (403 and GitHub's message), with a Retry-After header when retryAfter is
// positive.
func (s *Server) LimitSecondary(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.throttle = append(s.throttle, throttle{secondary: true, retryAfter: retryAfter})
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	const repo = "/api/v3/repos/{owner}/{repo}"
	mux.HandleFunc("GET /api/v3/app", s.getApp)
	mux.HandleFunc("POST /api/v3/app/installations/{id}/access_tokens", s.createInstallationToken)
	mux.HandleFunc("GET /api/v3/user", s.getAuthenticatedUser)
	mux.HandleFunc("GET /api/v3/users/{username}", s.getUser)
	mux.HandleFunc("GET "+repo, s.withRepo(s.getRepo))
	mux.HandleFunc("GET "+repo+"/issues", s.withRepo(s.listIssues))
	mux.HandleFunc("GET "+repo+"/issues/{number}", s.withIssue(s.getIssue))
	mux.HandleFunc("PATCH "+repo+"/issues/{number}", s.withIssue(s.editIssue))
	mux.HandleFunc("GET "+repo+"/issues/{number}/comments", s.withIssue(s.listComments))
	mux.HandleFunc("POST "+repo+"/issues/{number}/comments", s.withIssue(s.createComment))
	mux.HandleFunc("PATCH "+repo+"/issues/comments/{id}", s.withRepo(s.editComment))
	mux.HandleFunc("POST "+repo+"/issues/{number}/labels", s.withIssue(s.addIssueLabels))
	mux.HandleFunc("DELETE "+repo+"/issues/{number}/labels/{name}", s.withIssue(s.removeIssueLabel))
	mux.HandleFunc("GET "+repo+"/labels/{name}", s.withRepo(s.getLabel))
	mux.HandleFunc("POST "+repo+"/labels", s.withRepo(s.createLabel))
	mux.HandleFunc("GET "+repo+"/pulls", s.withRepo(s.listPulls))
	mux.HandleFunc("POST "+repo+"/pulls", s.withRepo(s.createPull))
	mux.HandleFunc("GET "+repo+"/pulls/{number}", s.withRepo(s.getPull))
	mux.HandleFunc("PATCH "+repo+"/pulls/{number}", s.withRepo(s.editPull))
	mux.HandleFunc("/api/v3/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fail(w, r, http.StatusNotFound, "Not Found")
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

// gate records every request and answers scripted rate limits and missing
// or wrong credentials before any handler runs.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.mu.Lock()
			path := strings.TrimPrefix(r.URL.Path, "/api/v3")
			if r.URL.RawQuery != "" {
				path += "?" + r.URL.RawQuery
			}
			s.requests = append(s.requests, Request{Method: r.Method, Path: path, Status: rec.status})
			s.mu.Unlock()
		}()
		s.mu.Lock()
		if status := s.refused(r); status != 0 {
			s.fail(rec, r, status, "Resource not accessible by personal access token")
			s.mu.Unlock()
			return
		}
		if len(s.throttle) > 0 {
			th := s.throttle[0]
			s.throttle = s.throttle[1:]
			s.refuse(rec, r, th)
			s.mu.Unlock()
			return
		}
		isApp := r.URL.Path == "/api/v3/app" || strings.HasPrefix(r.URL.Path, "/api/v3/app/")
		if !isApp && !s.authorized(r) {
			s.fail(rec, r, http.StatusUnauthorized, "Bad credentials")
			s.mu.Unlock()
			return
		}
		if s.rate.remaining <= 0 && time.Now().Before(s.rate.reset) {
			s.refuse(rec, r, throttle{reset: s.rate.reset})
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		next.ServeHTTP(rec, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	_, ok := s.callerOf(r)
	return ok
}

// callerOf is who the request's token acts as; without any token or App
// configured every request is TokenOwner's. s.mu is held.
func (s *Server) callerOf(r *http.Request) (caller, bool) {
	open := len(s.tokens) == 0 && len(s.apps) == 0
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token") {
		return caller{user: TokenOwner, association: AssociationCollaborator}, open
	}
	if c, ok := s.tokens[tok]; ok {
		return c, true
	}
	return caller{user: TokenOwner, association: AssociationCollaborator}, open
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, th throttle) {
	h := w.Header()
	if th.status != 0 {
		s.fail(w, r, th.status, http.StatusText(th.status))
		return
	}
	if th.secondary {
		s.rateHeaders(h)
		if th.retryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(int(th.retryAfter.Round(time.Second)/time.Second)))
		}
		s.writeJSON(w, http.StatusForbidden, wireError{
			Message:          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			DocumentationURL: secondaryDocs,
		})
		return
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.rate.limit))
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(th.reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.rate.limit))
	h.Set("X-RateLimit-Resource", "core")
	s.writeJSON(w, http.StatusForbidden, wireError{
		Message:          "API rate limit exceeded for user ID 1.",
		DocumentationURL: docsRoot + "/overview/rate-limits-for-the-rest-api#about-primary-rate-limits",
	})
}

// rateHeaders spends one request of the primary limit and reports it.
func (s *Server) rateHeaders(h http.Header) {
	if time.Now().After(s.rate.reset) {
		s.rate.remaining, s.rate.reset = s.rate.limit, time.Now().Add(time.Hour).Truncate(time.Second)
	}
	if s.rate.remaining > 0 {
		s.rate.remaining--
	}
	s.setRate(h)
}

func (s *Server) setRate(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.rate.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.rate.remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.rate.reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.rate.limit-s.rate.remaining))
	h.Set("X-RateLimit-Resource", "core")
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// reply answers a request: a GET whose If-None-Match names the current
// ETag gets 304 without spending rate limit, as on GitHub.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	if r.Method == http.MethodGet && status == http.StatusOK {
		sum := sha256.Sum256(body)
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
		if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag {
			s.setRate(h)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	s.rateHeaders(h)
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	s.writeJSON(w, status, v)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string, items ...wireErrorItem) {
	s.reply(w, r, status, wireError{Message: msg, Errors: items, DocumentationURL: docsRoot, Status: strconv.Itoa(status)})
}

// page slices n items by the request's per_page and page and sets the
// Link header the way GitHub does (next, last, first, prev).
func (s *Server) page(w http.ResponseWriter, r *http.Request, n int) (from, to int) {
	q := r.URL.Query()
	per := 30
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = v
	}
	per = min(per, 100, s.maxPerPage)
	pg := 1
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		pg = v
	}
	last := max(1, (n+per-1)/per)
	link := func(p int, rel string) string {
		u := url.Values{}
		for k, vs := range q {
			u[k] = vs
		}
		u.Set("per_page", strconv.Itoa(per))
		u.Set("page", strconv.Itoa(p))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.URL, r.URL.Path, u.Encode(), rel)
	}
	var links []string
	if pg < last {
		links = append(links, link(pg+1, "next"), link(last, "last"))
	}
	if pg > 1 {
		links = append(links, link(1, "first"), link(pg-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	from = min((pg-1)*per, n)
	return from, min(from+per, n)
}

// withRepo resolves {owner}/{repo} and runs h with the state locked.
func (s *Server) withRepo(h func(http.ResponseWriter, *http.Request, *repo)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		rp, ok := s.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
		if !ok {
			s.fail(w, r, http.StatusNotFound, "Not Found")
			return
		}
		h(w, r, rp)
	}
}

// withIssue resolves {number} too; label writes first run the hooks
// OnNextLabelWrite queued, outside the lock, so they can edit the issue.
func (s *Server) withIssue(h func(http.ResponseWriter, *http.Request, *repo, *issue)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if labelWrite(r) {
			s.runLabelHooks(r)
		}
		s.withRepo(func(w http.ResponseWriter, r *http.Request, rp *repo) {
			n, err := strconv.Atoi(r.PathValue("number"))
			is, ok := rp.issues[n]
			if err != nil || !ok {
				s.fail(w, r, http.StatusNotFound, "Not Found")
				return
			}
			h(w, r, rp, is)
		})(w, r)
	}
}

func labelWrite(r *http.Request) bool {
	return strings.Contains(r.URL.Path, "/labels") || (r.Method == http.MethodPatch && !strings.Contains(r.URL.Path, "/comments"))
}

func (s *Server) runLabelHooks(r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		return
	}
	s.mu.Lock()
	rp, ok := s.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
	var hooks []func()
	if ok {
		hooks = s.takeLabelHooks(rp, n)
	}
	s.mu.Unlock()
	for _, fn := range hooks {
		fn()
	}
}

func decode(r *http.Request, v any) error {
	return json.NewDecoder(r.Body).Decode(v)
}

// badJSON is GitHub's answer to a request body that does not parse.
func (s *Server) badJSON(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, http.StatusBadRequest, "Problems parsing JSON")
}
