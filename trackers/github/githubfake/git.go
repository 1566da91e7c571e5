package githubfake

import "github.com/agent-smith/agent-smith/internal/githttp"

// ServeGit serves the bare repository at dir as repo's git ("owner/name")
// at its clone URL, {URL}/owner/name(.git), over smart HTTP with `git
// http-backend`. As GitHub does, it takes a token as the basic auth
// password with any user name (x-access-token for App tokens).
func (s *Server) ServeGit(repo, dir string) { s.git.Add("/"+repo, dir) }

// GitRequests are the git requests served so far.
func (s *Server) GitRequests() []githttp.Request { return s.git.Requests() }

func (s *Server) gitAuthorized(_, password string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) == 0 && len(s.apps) == 0 {
		return true
	}
	_, ok := s.tokens[password]
	return ok
}
