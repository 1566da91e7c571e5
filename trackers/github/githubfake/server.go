// Package githubfake is a stateful stand-in for the GitHub REST API and its
// webhooks, for tests. It serves the endpoints agent-smith uses under
// {URL}/api/v3 (the GitHub Enterprise layout go-github's WithEnterpriseURLs
// expects) with GitHub's documented JSON, status codes, Link-header
// pagination, ETags with 304 answers that cost no rate limit, rate-limit
// headers and primary/secondary rate-limit refusals, token and GitHub App
// (JWT → installation token) authentication; and it builds and sends
// webhook deliveries signed the way GitHub signs them.
//
// Web URLs (html_url, clone_url) live under {URL}/{owner}/{repo}, where a
// repository's git is served over smart HTTP (ServeGit).
//
// Test support: no production package may import it (depguard).
package githubfake

import (
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/agent-smith/agent-smith/internal/githttp"
)

// Server is the fake. Its methods are safe for concurrent use with the
// requests it serves.
type Server struct {
	// URL is the root: web URLs are under it, the API under URL+"/api/v3".
	URL string

	srv        *httptest.Server
	git        *githttp.Server
	maxPerPage int

	mu       sync.Mutex
	repos    map[string]*repo // by lower-case owner/name
	tokens   map[string]caller
	apps     map[int64]*rsa.PublicKey
	nextID   int64
	requests []Request
	rate     rateState
	throttle []throttle
	// labelHooks run once, before the next label write on an issue.
	labelHooks map[issueKey][]func()
	// refusals answer every matching request until cleared (FailRequests).
	refusals []refusal
}

// Request is one API request the fake answered.
type Request struct {
	Method string
	// Path is the URL path without the /api/v3 prefix, query included.
	Path   string
	Status int
}

// Option configures a Server.
type Option func(*Server)

// TokenOwner is the person whose personal access token WithToken
// registers: what the API writes with that token is theirs, as
// collaborator of every repository.
var TokenOwner = User{Login: "hubot-maintainer"}

// AppSlug is the slug of every App WithApp registers; what an installation
// token writes is by the App's bot, AppSlug + "[bot]".
const AppSlug = "agent-smith"

// AppBot is the bot account of the Apps WithApp registers.
var AppBot = User{Login: AppSlug + "[bot]", Bot: true}

// caller is who a credential acts as.
type caller struct {
	user        User
	association string
}

// WithToken makes the fake accept a personal access token (sent as
// "Authorization: Bearer …" or "token …") of TokenOwner. Without any token
// or App the fake accepts every request, as TokenOwner.
func WithToken(token string) Option { return WithTokenOf(token, TokenOwner) }

// WithTokenOf makes the fake accept a personal access token of u, a
// collaborator of every repository.
func WithTokenOf(token string, u User) Option {
	return func(s *Server) { s.tokens[token] = caller{user: u, association: AssociationCollaborator} }
}

// WithApp registers a GitHub App with the slug AppSlug: JWTs signed with
// the private key matching pub, issued by appID, may read the App (GET
// /app) and create installation tokens, which the fake then accepts like
// personal tokens, acting as AppBot.
func WithApp(appID int64, pub *rsa.PublicKey) Option {
	return func(s *Server) { s.apps[appID] = pub }
}

// WithMaxPerPage caps per_page (GitHub caps it at 100), so tests can prove
// that clients follow every page without creating hundreds of issues.
func WithMaxPerPage(n int) Option { return func(s *Server) { s.maxPerPage = n } }

// WithRateLimit sets the primary rate limit per hour (default 5000).
func WithRateLimit(limit int) Option {
	return func(s *Server) { s.rate.limit, s.rate.remaining = limit, limit }
}

// New starts a fake. Close it when done (tests: t.Cleanup(s.Close)).
func New(opts ...Option) *Server {
	s := &Server{
		maxPerPage: 100,
		repos:      map[string]*repo{},
		tokens:     map[string]caller{},
		apps:       map[int64]*rsa.PublicKey{},
		nextID:     1000,
		rate:       rateState{limit: 5000, remaining: 5000, reset: time.Now().Add(time.Hour).Truncate(time.Second)},
		labelHooks: map[issueKey][]func(){},
	}
	for _, o := range opts {
		o(s)
	}
	s.git = githttp.New(s.gitAuthorized)
	s.srv = httptest.NewServer(s.git.Wrap(s.routes()))
	s.URL = s.srv.URL
	return s
}

// APIURL is the REST API base, as a tracker's or repo's api url.
func (s *Server) APIURL() string { return s.URL + "/api/v3" }

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

// RateRemaining is what X-RateLimit-Remaining says now.
func (s *Server) RateRemaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rate.remaining
}

func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}
