// Package jirafake is a stateful stand-in for Jira Cloud's REST API v3 and
// its webhooks, for tests. It serves the endpoints agent-smith uses under
// {URL}/rest/api/3 with Jira's documented JSON (Atlassian Document Format
// for descriptions and comments), status codes and error bodies
// ({"errorMessages": […], "errors": {…}}): issues, their labels (edited with
// update operations), comments, workflow transitions, and the enhanced JQL
// search (POST /search/jql, paged by nextPageToken) over a JQL subset it
// parses and evaluates the way Jira does. It checks basic auth (email and
// API token) or bearer personal access tokens, answers scripted 429/503
// refusals with Retry-After, and builds webhook deliveries as Jira sends
// them (REST v2 shapes, X-Atlassian-Webhook-Identifier, X-Hub-Signature).
//
// Web URLs are {URL}/browse/{KEY}.
//
// Test support: no production package may import it (depguard).
package jirafake

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Server is the fake. Its methods are safe for concurrent use with the
// requests it serves.
type Server struct {
	// URL is the site root, as a Jira tracker's url.
	URL string

	srv           *httptest.Server
	maxResults    int
	strictScreens bool

	mu          sync.Mutex
	credentials map[string]string // Authorization header value → account id
	users       map[string]User   // by account id
	projects    map[string]*project
	issues      map[string]*issue // by key
	statuses    []Status
	transitions []Transition
	nextID      int64
	requests    []Request
	failures    []failure
	// labelHooks run once, before the next label write on an issue.
	labelHooks map[string][]func()
	clock      time.Time
}

// Request is one API request the fake answered.
type Request struct {
	Method string
	// Path is the URL path, query included.
	Path   string
	Status int
	// Body is the request body as sent.
	Body []byte
}

// User is a Jira account.
type User struct {
	AccountID   string
	DisplayName string
	Email       string
	// AccountType is "atlassian" (a site user, the default), "app" (an
	// app or bot) or "customer" (a Jira Service Management portal
	// customer).
	AccountType string
}

// Status is a workflow status and its category: "new", "indeterminate" or
// "done".
type Status struct {
	Name     string
	Category string
}

// Transition is a workflow transition. From lists the statuses it starts
// from; empty makes it global (from every other status).
type Transition struct {
	ID, Name, To string
	From         []string
	// HasScreen says the transition shows a screen; with
	// WithTransitionScreens only such transitions take a comment.
	HasScreen bool
}

// DefaultStatuses and DefaultTransitions are the workflow every fake starts
// with: a software project's To Do → In Progress → In Review → Done, with
// transitions whose names differ from the statuses they lead to.
var (
	DefaultStatuses = []Status{
		{Name: "To Do", Category: "new"},
		{Name: "In Progress", Category: "indeterminate"},
		{Name: "In Review", Category: "indeterminate"},
		{Name: "Done", Category: "done"},
	}
	DefaultTransitions = []Transition{
		{ID: "11", Name: "Reopen", To: "To Do"},
		{ID: "21", Name: "Start progress", To: "In Progress"},
		{ID: "31", Name: "Request review", To: "In Review", HasScreen: true},
		{ID: "41", Name: "Resolve", To: "Done"},
	}
)

// Option configures a Server.
type Option func(*Server)

// WithUser lets u authenticate with basic auth as email and API token, as
// Jira Cloud does. Without any credentials the fake accepts every request,
// as an anonymous user.
func WithUser(email, apiToken string, u User) Option {
	return func(s *Server) {
		u.Email = email
		s.addUser(u)
		s.credentials["Basic "+base64.StdEncoding.EncodeToString([]byte(email+":"+apiToken))] = u.AccountID
	}
}

// WithPersonalAccessToken lets u authenticate with "Authorization: Bearer
// token", as OAuth 2.0 access tokens and personal access tokens are sent.
func WithPersonalAccessToken(token string, u User) Option {
	return func(s *Server) {
		s.addUser(u)
		s.credentials["Bearer "+token] = u.AccountID
	}
}

// WithMaxResults caps the page size of searches and comment lists, so
// tests can prove that clients follow every page.
func WithMaxResults(n int) Option { return func(s *Server) { s.maxResults = n } }

// WithWorkflow replaces the default workflow.
func WithWorkflow(statuses []Status, transitions []Transition) Option {
	return func(s *Server) {
		s.statuses = append([]Status(nil), statuses...)
		s.transitions = append([]Transition(nil), transitions...)
	}
}

// WithTransitionScreens makes transitions without a screen refuse a
// comment in their update, as sites whose workflows have screenless
// transitions may.
func WithTransitionScreens() Option { return func(s *Server) { s.strictScreens = true } }

// New starts a fake. Close it when done (tests: t.Cleanup(s.Close)).
func New(opts ...Option) *Server {
	s := &Server{
		maxResults:  100,
		credentials: map[string]string{},
		users:       map[string]User{},
		projects:    map[string]*project{},
		issues:      map[string]*issue{},
		statuses:    append([]Status(nil), DefaultStatuses...),
		transitions: append([]Transition(nil), DefaultTransitions...),
		nextID:      10000,
		labelHooks:  map[string][]func(){},
		clock:       time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL
	return s
}

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

// BrowseURL is the web URL of an issue.
func (s *Server) BrowseURL(key string) string { return s.URL + "/browse/" + key }

func (s *Server) newID() string {
	s.nextID++
	return strconv.FormatInt(s.nextID, 10)
}

// now is the fake's clock: it advances a second per write so that
// created and updated times order the way they happened.
func (s *Server) now() time.Time {
	s.clock = s.clock.Add(time.Second)
	return s.clock
}

func (s *Server) addUser(u User) {
	if u.AccountType == "" {
		u.AccountType = "atlassian"
	}
	s.users[u.AccountID] = u
}
