// Package githttp serves bare repositories over git's smart HTTP protocol
// with the real `git http-backend` (through net/http/cgi), behind HTTP
// basic auth, as GitHub, GitLab and Azure DevOps serve clones and pushes.
// The tracker fakes mount it at their repositories' clone URLs, so that
// tests fetch and push with the token the way production does, instead of
// pointing git elsewhere.
//
// Test support: no production package may import it (depguard).
package githttp

import (
	"net/http"
	"net/http/cgi"
	"os/exec"
	"strings"
	"sync"
)

// Request is one git request the server saw.
type Request struct {
	Repo    string // the path it was added under
	Service string // git-upload-pack (fetch) or git-receive-pack (push)
	User    string // basic auth user, "" without credentials
	// Authorized says the credentials were accepted.
	Authorized bool
}

// Server serves the repositories added to it.
type Server struct {
	auth func(user, password string) bool

	mu       sync.Mutex
	repos    map[string]string // URL path → bare repository
	requests []Request
}

// New returns a server whose requests must carry credentials auth
// accepts; nil accepts anonymous ones too.
func New(auth func(user, password string) bool) *Server {
	return &Server{auth: auth, repos: map[string]string{}}
}

// Add serves the bare repository at dir under the URL path p (e.g.
// "/acme/calc"), with or without ".git".
func (s *Server) Add(p, dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos["/"+strings.Trim(strings.TrimSuffix(p, ".git"), "/")] = dir
}

// Requests are the git requests served so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Wrap serves git's requests for the added repositories and passes every
// other request to next.
func (s *Server) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo, prefix, dir, service, ok := s.match(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		user, password, hasAuth := r.BasicAuth()
		authorized := s.auth == nil || (hasAuth && s.auth(user, password))
		s.mu.Lock()
		s.requests = append(s.requests, Request{Repo: repo, Service: service, User: user, Authorized: authorized})
		s.mu.Unlock()
		if !authorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend(dir, prefix, user).ServeHTTP(w, r)
	})
}

// match finds the repository and service of a smart HTTP request, and
// the URL prefix that names the repository.
func (s *Server) match(r *http.Request) (repo, prefix, dir, service string, ok bool) {
	p := r.URL.Path
	var rest string
	switch {
	case strings.HasSuffix(p, "/info/refs"):
		rest, service = "/info/refs", r.URL.Query().Get("service")
	case strings.HasSuffix(p, "/git-upload-pack"):
		rest, service = "/git-upload-pack", "git-upload-pack"
	case strings.HasSuffix(p, "/git-receive-pack"):
		rest, service = "/git-receive-pack", "git-receive-pack"
	default:
		return "", "", "", "", false
	}
	prefix = strings.TrimSuffix(p, rest)
	repo = strings.TrimSuffix(prefix, ".git")
	s.mu.Lock()
	dir, ok = s.repos[repo]
	s.mu.Unlock()
	return repo, prefix, dir, service, ok && (service == "git-upload-pack" || service == "git-receive-pack")
}

// backend is git http-backend for one repository, which is the project
// root; pushes are allowed (the request was authenticated).
func backend(dir, prefix, user string) http.Handler {
	git, err := exec.LookPath("git")
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "git is not installed", http.StatusInternalServerError)
		})
	}
	return &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Root: prefix,
		Env: []string{
			"GIT_PROJECT_ROOT=" + dir, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=" + user,
			"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
		},
		InheritEnv: []string{"PATH"},
	}
}
