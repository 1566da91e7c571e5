package githubfake

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// The JSON shapes below follow GitHub's REST reference (issues, labels,
// comments, pulls, repos) and webhook payload docs; they carry the fields
// clients commonly read, spelled as GitHub spells them.

type wireUser struct {
	Login     string `json:"login"`
	ID        int64  `json:"id"`
	NodeID    string `json:"node_id"`
	AvatarURL string `json:"avatar_url"`
	URL       string `json:"url"`
	HTMLURL   string `json:"html_url"`
	Type      string `json:"type"`
	SiteAdmin bool   `json:"site_admin"`
}

type wireLabel struct {
	ID          int64   `json:"id"`
	NodeID      string  `json:"node_id"`
	URL         string  `json:"url"`
	Name        string  `json:"name"`
	Color       string  `json:"color"`
	Default     bool    `json:"default"`
	Description *string `json:"description"`
}

type wirePullLinks struct {
	URL      string  `json:"url"`
	HTMLURL  string  `json:"html_url"`
	DiffURL  string  `json:"diff_url"`
	PatchURL string  `json:"patch_url"`
	MergedAt *string `json:"merged_at"`
}

type wireIssue struct {
	ID                int64          `json:"id"`
	NodeID            string         `json:"node_id"`
	URL               string         `json:"url"`
	RepositoryURL     string         `json:"repository_url"`
	LabelsURL         string         `json:"labels_url"`
	CommentsURL       string         `json:"comments_url"`
	EventsURL         string         `json:"events_url"`
	HTMLURL           string         `json:"html_url"`
	Number            int            `json:"number"`
	State             string         `json:"state"`
	StateReason       *string        `json:"state_reason"`
	Title             string         `json:"title"`
	Body              *string        `json:"body"`
	User              wireUser       `json:"user"`
	Labels            []wireLabel    `json:"labels"`
	Assignee          *wireUser      `json:"assignee"`
	Assignees         []wireUser     `json:"assignees"`
	Locked            bool           `json:"locked"`
	Comments          int            `json:"comments"`
	PullRequest       *wirePullLinks `json:"pull_request,omitempty"`
	ClosedAt          *string        `json:"closed_at"`
	CreatedAt         string         `json:"created_at"`
	UpdatedAt         string         `json:"updated_at"`
	AuthorAssociation string         `json:"author_association"`
}

type wireComment struct {
	ID                int64    `json:"id"`
	NodeID            string   `json:"node_id"`
	URL               string   `json:"url"`
	HTMLURL           string   `json:"html_url"`
	IssueURL          string   `json:"issue_url"`
	Body              string   `json:"body"`
	User              wireUser `json:"user"`
	CreatedAt         string   `json:"created_at"`
	UpdatedAt         string   `json:"updated_at"`
	AuthorAssociation string   `json:"author_association"`
}

type wireRepo struct {
	ID            int64    `json:"id"`
	NodeID        string   `json:"node_id"`
	Name          string   `json:"name"`
	FullName      string   `json:"full_name"`
	Private       bool     `json:"private"`
	Owner         wireUser `json:"owner"`
	HTMLURL       string   `json:"html_url"`
	URL           string   `json:"url"`
	CloneURL      string   `json:"clone_url"`
	GitURL        string   `json:"git_url"`
	SSHURL        string   `json:"ssh_url"`
	DefaultBranch string   `json:"default_branch"`
	Fork          bool     `json:"fork"`
	Archived      bool     `json:"archived"`
}

type wireRef struct {
	Label string   `json:"label"`
	Ref   string   `json:"ref"`
	SHA   string   `json:"sha"`
	User  wireUser `json:"user"`
	Repo  wireRepo `json:"repo"`
}

type wirePull struct {
	ID                int64       `json:"id"`
	NodeID            string      `json:"node_id"`
	URL               string      `json:"url"`
	HTMLURL           string      `json:"html_url"`
	IssueURL          string      `json:"issue_url"`
	Number            int         `json:"number"`
	State             string      `json:"state"`
	Locked            bool        `json:"locked"`
	Title             string      `json:"title"`
	Body              *string     `json:"body"`
	User              wireUser    `json:"user"`
	Labels            []wireLabel `json:"labels"`
	Draft             bool        `json:"draft"`
	Head              wireRef     `json:"head"`
	Base              wireRef     `json:"base"`
	Merged            bool        `json:"merged"`
	CreatedAt         string      `json:"created_at"`
	UpdatedAt         string      `json:"updated_at"`
	ClosedAt          *string     `json:"closed_at"`
	AuthorAssociation string      `json:"author_association"`
}

type wireError struct {
	Message          string          `json:"message"`
	Errors           []wireErrorItem `json:"errors,omitempty"`
	DocumentationURL string          `json:"documentation_url"`
	Status           string          `json:"status,omitempty"`
}

type wireErrorItem struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func nodeID(kind string, id int64) string {
	return base64.RawStdEncoding.EncodeToString(fmt.Appendf(nil, "%s%d", kind, id))
}

func (s *Server) user(u User) wireUser {
	typ := "User"
	if u.Bot {
		typ = "Bot"
	}
	id := userID(u.Login)
	return wireUser{Login: u.Login, ID: id, NodeID: nodeID("U_", id), Type: typ,
		AvatarURL: s.URL + "/avatars/" + u.Login, URL: s.APIURL() + "/users/" + u.Login, HTMLURL: s.URL + "/" + u.Login}
}

// userID is the account id of a login: stable and distinct per login, as
// GitHub's are, so identity checks by id see different people apart.
func userID(login string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(strings.ToLower(login)))
	return int64(h.Sum64()>>34) + 1
}

func (s *Server) repoAPI(r *repo) string { return s.APIURL() + "/repos/" + r.owner + "/" + r.name }
func (s *Server) repoWeb(r *repo) string { return s.URL + "/" + r.owner + "/" + r.name }

func (s *Server) wireRepo(r *repo) wireRepo {
	host := strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://")
	return wireRepo{
		ID: r.id, NodeID: nodeID("R_", r.id), Name: r.name, FullName: r.owner + "/" + r.name,
		Owner: s.user(User{Login: r.owner}), HTMLURL: s.repoWeb(r), URL: s.repoAPI(r),
		CloneURL: s.repoWeb(r) + ".git", GitURL: "git://" + host + "/" + r.owner + "/" + r.name + ".git",
		SSHURL: "git@" + host + ":" + r.owner + "/" + r.name + ".git", DefaultBranch: r.defaultBranch,
	}
}

func (s *Server) wireLabel(r *repo, l *label) wireLabel {
	var desc *string
	if l.description != "" {
		desc = &l.description
	}
	return wireLabel{ID: l.id, NodeID: nodeID("LA_", l.id), URL: s.repoAPI(r) + "/labels/" + l.name,
		Name: l.name, Color: l.color, Description: desc}
}

func (s *Server) wireLabels(r *repo, ls []*label) []wireLabel {
	out := make([]wireLabel, 0, len(ls))
	for _, l := range ls {
		out = append(out, s.wireLabel(r, l))
	}
	return out
}

func (s *Server) wireIssue(r *repo, is *issue) wireIssue {
	api := fmt.Sprintf("%s/issues/%d", s.repoAPI(r), is.number)
	kind := "issues"
	if is.isPull {
		kind = "pull"
	}
	w := wireIssue{
		ID: is.id, NodeID: nodeID("I_", is.id), URL: api, RepositoryURL: s.repoAPI(r),
		LabelsURL: api + "/labels{/name}", CommentsURL: api + "/comments", EventsURL: api + "/events",
		HTMLURL: fmt.Sprintf("%s/%s/%d", s.repoWeb(r), kind, is.number), Number: is.number, State: is.state,
		Title: is.title, User: s.user(is.author), Labels: s.wireLabels(r, is.labels), Assignees: []wireUser{},
		Comments: len(is.comments), CreatedAt: ts(is.created), UpdatedAt: ts(is.updated), AuthorAssociation: is.association,
	}
	if is.body != "" {
		w.Body = &is.body
	}
	if is.stateReason != "" {
		w.StateReason = &is.stateReason
	}
	if !is.closed.IsZero() {
		c := ts(is.closed)
		w.ClosedAt = &c
	}
	if is.assignee != "" {
		a := s.user(User{Login: is.assignee})
		w.Assignee, w.Assignees = &a, []wireUser{a}
	}
	if is.isPull {
		pr := fmt.Sprintf("%s/pulls/%d", s.repoAPI(r), is.number)
		web := fmt.Sprintf("%s/pull/%d", s.repoWeb(r), is.number)
		w.PullRequest = &wirePullLinks{URL: pr, HTMLURL: web, DiffURL: web + ".diff", PatchURL: web + ".patch"}
	}
	return w
}

func (s *Server) wireComment(r *repo, c *comment) wireComment {
	return wireComment{
		ID: c.id, NodeID: nodeID("IC_", c.id), URL: fmt.Sprintf("%s/issues/comments/%d", s.repoAPI(r), c.id),
		HTMLURL:  fmt.Sprintf("%s/issues/%d#issuecomment-%d", s.repoWeb(r), c.issue, c.id),
		IssueURL: fmt.Sprintf("%s/issues/%d", s.repoAPI(r), c.issue), Body: c.body, User: s.user(c.author),
		CreatedAt: ts(c.created), UpdatedAt: ts(c.updated), AuthorAssociation: c.association,
	}
}

func (s *Server) wirePull(r *repo, p *pull) wirePull {
	is := r.issues[p.number]
	repo := s.wireRepo(r)
	owner := s.user(User{Login: r.owner})
	ref := func(branch string) wireRef {
		return wireRef{Label: r.owner + ":" + branch, Ref: branch, SHA: fmt.Sprintf("%040x", len(branch)), User: owner, Repo: repo}
	}
	w := wirePull{
		ID: is.id, NodeID: nodeID("PR_", is.id), URL: fmt.Sprintf("%s/pulls/%d", s.repoAPI(r), p.number),
		HTMLURL: fmt.Sprintf("%s/pull/%d", s.repoWeb(r), p.number), IssueURL: fmt.Sprintf("%s/issues/%d", s.repoAPI(r), p.number),
		Number: p.number, State: is.state, Title: is.title, User: s.user(is.author), Labels: s.wireLabels(r, is.labels),
		Draft: p.draft, Head: ref(p.head), Base: ref(p.base), CreatedAt: ts(is.created), UpdatedAt: ts(is.updated),
		AuthorAssociation: is.association,
	}
	if is.body != "" {
		w.Body = &is.body
	}
	if !is.closed.IsZero() {
		c := ts(is.closed)
		w.ClosedAt = &c
	}
	return w
}

// wireProfile is a user as GET /user and GET /users/{username} answer.
type wireProfile struct {
	wireUser
	Name        *string `json:"name"`
	Company     *string `json:"company"`
	Blog        string  `json:"blog"`
	Location    *string `json:"location"`
	Email       *string `json:"email"`
	Bio         *string `json:"bio"`
	PublicRepos int     `json:"public_repos"`
	Followers   int     `json:"followers"`
	Following   int     `json:"following"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

func (s *Server) profile(u User) wireProfile {
	since := ts(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	return wireProfile{wireUser: s.user(u), CreatedAt: since, UpdatedAt: since}
}
