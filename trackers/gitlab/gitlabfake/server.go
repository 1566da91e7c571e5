// Package gitlabfake is a stateful stand-in for the GitLab REST API (v4) and
// its webhooks, for tests. It serves the endpoints agent-smith uses under
// {URL}/api/v4 with GitLab's documented JSON, status codes and error
// bodies, offset pagination (X-Page, X-Next-Page, X-Total… headers and a
// Link header), project ids as numbers or URL-encoded paths, token
// authentication (PRIVATE-TOKEN or Authorization: Bearer) with role-based
// permissions, system notes for label and state changes, and scripted
// refusals (429 with RateLimit-* and Retry-After headers, 5xx); and it
// builds webhook deliveries with the headers GitLab sends (X-Gitlab-Event,
// X-Gitlab-Token, Idempotency-Key, X-Gitlab-Event-UUID, …).
//
// Web URLs live under {URL}/{namespace}/{project}: issues at
// …/-/issues/{iid}, merge requests at …/-/merge_requests/{iid}.
//
// Test support: no production package may import it (depguard).
package gitlabfake

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Server is the fake. Its methods are safe for concurrent use with the
// requests it serves.
type Server struct {
	// URL is the instance root: web URLs are under it, the API under
	// URL+"/api/v4".
	URL string

	srv        *httptest.Server
	maxPerPage int

	mu       sync.Mutex
	nextID   int64
	users    map[int64]*user
	tokens   map[string]int64
	projects map[string]*project // by lower-case path with namespace
	requests []Request
	refusals []Refusal
	// labelHooks run once, before the next write to an issue is applied.
	labelHooks map[issueKey][]func()
}

// Request is one API request the fake answered.
type Request struct {
	Method string
	// Path is the URL path without the /api/v4 prefix, as sent (project
	// paths stay URL-encoded), query included.
	Path   string
	Status int
}

// Option configures a Server.
type Option func(*Server)

// WithToken makes the fake accept token (as PRIVATE-TOKEN or a Bearer
// token) for the user called username, creating that user. Without any
// token the fake accepts every request as the administrator root.
func WithToken(token, username string) Option {
	return func(s *Server) { s.tokens[token] = s.addUser(username).id }
}

// WithBotToken makes the fake accept token for a bot user called
// username, as GitLab makes one for each project or group access token
// (GET /user answers "bot": true for it).
func WithBotToken(token, username string) Option {
	return func(s *Server) {
		u := s.addUser(username)
		u.bot = true
		s.tokens[token] = u.id
	}
}

// WithMaxPerPage caps per_page (GitLab caps it at 100), so tests can prove
// that clients follow every page without creating hundreds of issues.
func WithMaxPerPage(n int) Option { return func(s *Server) { s.maxPerPage = n } }

// New starts a fake. Close it when done (tests: t.Cleanup(s.Close)).
func New(opts ...Option) *Server {
	s := &Server{
		maxPerPage: 100,
		nextID:     100,
		users:      map[int64]*user{},
		tokens:     map[string]int64{},
		projects:   map[string]*project{},
		labelHooks: map[issueKey][]func(){},
	}
	root := s.addUser("root")
	root.admin = true
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL
	return s
}

// APIURL is the REST API base the client library derives from the
// instance root.
func (s *Server) APIURL() string { return s.URL + "/api/v4" }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Client is an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Requests returns the API requests answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Refusal is how the fake refuses a request before it reaches the state.
type Refusal struct {
	// Status is 429 (GitLab's rate limiter: RateLimit-* headers and the
	// plain-text body "Retry later") or a 5xx.
	Status int
	// RetryAfter, when positive, is sent as Retry-After in seconds.
	RetryAfter time.Duration
	// ResetIn, when positive, is when RateLimit-Reset says the window
	// resets (429 only).
	ResetIn time.Duration
}

// RefuseNext makes the next n requests fail with r.
func (s *Server) RefuseNext(n int, r Refusal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.refusals = append(s.refusals, r)
	}
}

func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}
