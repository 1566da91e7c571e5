package adofake

import "github.com/agent-smith/agent-smith/internal/githttp"

// ServeGit serves the bare repository at dir as the git of repository
// name of project, at its clone URL {organization}/{project}/_git/{name},
// over smart HTTP with `git http-backend`. As Azure DevOps does, it takes
// a personal access token as the basic auth password with any user name.
func (s *Server) ServeGit(project, name, dir string) {
	s.git.Add("/"+s.org+"/"+project+"/_git/"+name, dir)
}

// GitRequests are the git requests served so far.
func (s *Server) GitRequests() []githttp.Request { return s.git.Requests() }

func (s *Server) gitAuthorized(_, password string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) == 0 {
		return true
	}
	_, ok := s.tokens[password]
	return ok
}
