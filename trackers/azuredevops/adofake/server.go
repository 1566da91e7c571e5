// Package adofake is a stateful stand-in for the Azure DevOps REST API
// (api-version 7.1) and its service hooks, for tests. It serves the
// endpoints agent-smith uses — work items (JSON Patch with revision tests,
// batch reads), WIQL, work item comments (a preview resource, with
// continuation tokens), work item type states, Git repositories and pull
// requests — under {URL}/{organization}/{project}/_apis/…, with Azure
// DevOps' JSON shapes, status codes, error bodies ({"message", "typeKey"}),
// personal-access-token basic auth, api-version checks, and scripted
// throttling (429/503 with Retry-After, or delayed answers carrying it). It
// builds service hook deliveries (workitem.created, workitem.updated,
// workitem.commented) the way Azure DevOps sends them, authenticated with
// basic auth.
//
// A repository's git is served over smart HTTP at its clone URL
// (ServeGit). Paths match without regard to case, as on Azure DevOps.
//
// Test support: no production package may import it (depguard).
package adofake

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/agent-smith/agent-smith/internal/githttp"
)

// Server is the fake. Its methods are safe for concurrent use with the
// requests it serves.
type Server struct {
	// URL is the root; the organization is at URL + "/" + organization.
	URL string

	srv          *httptest.Server
	org          string
	maxBatch     int
	commentsPage int
	wiqlLimit    int

	git *githttp.Server

	mu       sync.Mutex
	tokens   map[string]Identity
	projects map[string]*project // by lower-case name
	items    map[int]*WorkItem
	states   map[string][]string // by lower-case work item type
	// transitions limit the states a state may move to, by lower-case
	// "type/state"; a state without an entry may move to any.
	transitions map[string][]string
	nextID      int
	requests    []Request
	scripted    []scripted
	// patchHooks run once, before the next patch of a work item.
	patchHooks map[int][]func()
}

// Identity is an Azure DevOps user.
type Identity struct {
	DisplayName string
	UniqueName  string
	ID          string
}

// Agent is who a token of WithToken acts as, and every request when no
// token is configured.
var Agent = Identity{DisplayName: "Agent Smith", UniqueName: "agent-smith@fabrikam.example", ID: "5e3c1c2b-7a0e-4c57-9d2a-0a6f3f1d9e01"}

// Request is one API request the fake answered.
type Request struct {
	Method string
	// Path is the URL path below the organization, query included.
	Path   string
	Status int
}

// Option configures a Server.
type Option func(*Server)

// WithOrganization names the organization (default "fabrikam").
func WithOrganization(name string) Option { return func(s *Server) { s.org = name } }

// WithToken makes the fake accept a personal access token of Agent as the
// basic-auth password. Without any token the fake accepts every request.
func WithToken(token string) Option { return WithTokenOf(token, Agent) }

// WithTokenOf makes the fake accept a personal access token of who: what
// the API writes with it is by who.
func WithTokenOf(token string, who Identity) Option {
	return func(s *Server) { s.tokens[token] = who }
}

// WithMaxBatch caps how many ids one workitemsbatch request may name
// (Azure DevOps: 200), so tests can prove clients page.
func WithMaxBatch(n int) Option { return func(s *Server) { s.maxBatch = n } }

// WithCommentsPageSize caps a page of the comments API (Azure DevOps: 200).
func WithCommentsPageSize(n int) Option { return func(s *Server) { s.commentsPage = n } }

// WithWIQLLimit sets how many results a WIQL query without $top may have
// before it is refused (Azure DevOps: 20000).
func WithWIQLLimit(n int) Option { return func(s *Server) { s.wiqlLimit = n } }

// WithStates sets the states of a work item type.
func WithStates(workItemType string, states ...string) Option {
	return func(s *Server) { s.states[strings.ToLower(workItemType)] = states }
}

// WithTransitions limits where work items of a type in state from may
// move, as a process's workflow rules do; moving elsewhere is refused with
// a rule error (400).
func WithTransitions(workItemType, from string, to ...string) Option {
	return func(s *Server) { s.transitions[strings.ToLower(workItemType+"/"+from)] = to }
}

// New starts a fake. Close it when done (tests: t.Cleanup(s.Close)).
func New(opts ...Option) *Server {
	s := &Server{
		org: "fabrikam", maxBatch: 200, commentsPage: 200, wiqlLimit: 20000,
		tokens:   map[string]Identity{},
		projects: map[string]*project{},
		items:    map[int]*WorkItem{},
		states: map[string][]string{
			"bug":        {"New", "Active", "Resolved", "Closed"},
			"user story": {"New", "Active", "Resolved", "Closed", "Removed"},
			"task":       {"New", "Active", "Closed", "Removed"},
		},
		patchHooks:  map[int][]func(){},
		transitions: map[string][]string{},
	}
	for _, o := range opts {
		o(s)
	}
	s.git = githttp.New(s.gitAuthorized)
	s.srv = httptest.NewServer(s.git.Wrap(http.HandlerFunc(s.serve)))
	s.URL = s.srv.URL
	return s
}

// OrgURL is the organization URL: a tracker's url, a repository's api_url.
func (s *Server) OrgURL() string { return s.URL + "/" + s.org }

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

// scripted is an answer queued for the next request.
type scripted struct {
	status     int
	retryAfter time.Duration
	// delayed answers the request normally, with Retry-After set, as Azure
	// DevOps does for requests it delayed.
	delayed bool
}

// Throttle makes the next n requests fail as blocked by the rate limit:
// status 429 (or 503), the TF400733 message and, when retryAfter is
// positive, Retry-After.
func (s *Server) Throttle(n, status int, retryAfter time.Duration) {
	s.queue(n, scripted{status: status, retryAfter: retryAfter})
}

// Delay makes the next n requests succeed with Retry-After set, as Azure
// DevOps answers requests it delayed to slow a client down.
func (s *Server) Delay(n int, retryAfter time.Duration) {
	s.queue(n, scripted{delayed: true, retryAfter: retryAfter})
}

// FailNext makes the next n requests fail with status (a 5xx, as during an
// incident) before they reach the state.
func (s *Server) FailNext(n, status int) { s.queue(n, scripted{status: status}) }

func (s *Server) queue(n int, sc scripted) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.scripted = append(s.scripted, sc)
	}
}

// OnNextPatch runs fn once, right before the next JSON Patch of work item
// id is applied — after the client read the work item, so fn plays another
// client editing it in between. fn may call the fake.
func (s *Server) OnNextPatch(id int, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.patchHooks[id] = append(s.patchHooks[id], fn)
}

func (s *Server) takePatchHooks(id int) []func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	hooks := s.patchHooks[id]
	delete(s.patchHooks, id)
	return hooks
}

func (s *Server) newID() int {
	s.nextID++
	return s.nextID
}

// guid makes a stable GUID-shaped id from n.
func guid(kind, n int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8000-%012x", n, kind, n%0x1000, n)
}
