package azuredevops

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
)

// RepoHost is an Azure Repos Git repository as a trackers.RepoHost.
type RepoHost struct {
	name          string
	api           *api
	project, repo string
	cloneURL      string
	defaultBranch string
}

var _ trackers.RepoHost = (*RepoHost)(nil)

// NewRepoHost builds the host of repository name from its config entry:
// its url (https://dev.azure.com/{organization}/{project}/_git/{repo}, or
// the same below an Azure DevOps Server collection), the REST API at
// api_url (default: the organization or collection of url), the personal
// access token the secret named by auth holds. It makes no request.
func NewRepoHost(name string, r *config.Repo, cfg *config.Config, opts ...Option) (*RepoHost, error) {
	if r.Type != config.RepoAzureDevOps {
		return nil, fmt.Errorf("repo %s is of type %s, not azure_devops", name, r.Type)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	loc, err := parseRepoURL(r.URL)
	if err != nil {
		return nil, fmt.Errorf("repo %s: %w", name, err)
	}
	tok, err := tokenFor("repo "+name, r.Auth, cfg)
	if err != nil {
		return nil, err
	}
	a, err := newAPI(cmp.Or(o.baseURL, r.APIURL, loc.collection), tok, o)
	if err != nil {
		return nil, fmt.Errorf("repo %s: %w", name, err)
	}
	return &RepoHost{name: name, api: a, project: loc.project, repo: loc.repo, cloneURL: loc.clone, defaultBranch: r.DefaultBranch}, nil
}

// repoLocation is where an Azure Repos clone URL points.
type repoLocation struct {
	// collection is the organization or collection URL the API is under.
	collection    string
	project, repo string
	// clone is the URL without userinfo.
	clone string
}

// parseRepoURL splits an Azure Repos https clone URL:
// https://dev.azure.com/{org}/{project}/_git/{repo} (and its short form
// https://dev.azure.com/{org}/_git/{repo} for a repository named like its
// project), https://{org}.visualstudio.com/[DefaultCollection/]{project}/_git/{repo},
// and https://{server}/{collection path}/{project}/_git/{repo}. Userinfo
// (https://{org}@dev.azure.com/…, as Azure DevOps shows clone URLs) is
// dropped: credentials come from the sandbox's environment.
func parseRepoURL(raw string) (repoLocation, error) {
	bad := fmt.Errorf("url %s: want https://dev.azure.com/{organization}/{project}/_git/{repository}", redactURL(raw))
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return repoLocation{}, bad
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	before, repo, ok := strings.Cut(strings.TrimRight(u.Path, "/"), "/_git/")
	repo = strings.TrimSuffix(repo, ".git")
	if !ok || repo == "" || strings.Contains(repo, "/") {
		return repoLocation{}, bad
	}
	var segs []string
	if before = strings.Trim(before, "/"); before != "" {
		segs = strings.Split(before, "/")
	}
	var collection []string
	project := repo
	switch {
	case strings.EqualFold(u.Host, "dev.azure.com") && len(segs) == 1:
		collection = segs
	case len(segs) == 0 && !strings.HasSuffix(strings.ToLower(u.Host), ".visualstudio.com"):
		return repoLocation{}, bad
	case len(segs) > 0:
		collection, project = segs[:len(segs)-1], segs[len(segs)-1]
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host}
	if len(collection) > 0 {
		c.Path = "/" + strings.Join(collection, "/")
	}
	return repoLocation{collection: c.String(), project: project, repo: repo, clone: u.String()}, nil
}

func (h *RepoHost) repoPath() string {
	return "/" + pathSegment(h.project) + "/_apis/git/repositories/" + pathSegment(h.repo)
}

// DefaultBranch is the configured default_branch, else the repository's
// default branch as Azure Repos reports it.
func (h *RepoHost) DefaultBranch(ctx context.Context) (string, error) {
	if h.defaultBranch != "" {
		return h.defaultBranch, nil
	}
	var repo struct {
		DefaultBranch string `json:"defaultBranch"`
	}
	err := h.api.do(ctx, call{what: "get repository " + h.project + "/" + h.repo, method: "GET", path: h.repoPath(), idempotent: true}, &repo)
	if err != nil {
		return "", fmt.Errorf("repo %s: %w", h.name, notFound(err))
	}
	if repo.DefaultBranch == "" {
		return "", fmt.Errorf("repo %s: Azure Repos reports no default branch (empty repository?)", h.name)
	}
	return strings.TrimPrefix(repo.DefaultBranch, "refs/heads/"), nil
}

// CloneURL is the configured URL without any userinfo.
func (h *RepoHost) CloneURL() string { return h.cloneURL }

// gitPullRequest is a pull request as the REST API returns it.
type gitPullRequest struct {
	PullRequestID int `json:"pullRequestId"`
}

// OpenPullRequest opens a pull request from pr.Head into pr.Base, linked
// to its work item when the ticket is a work item of this organization
// (else with the ticket's URL in the description), or returns the active
// one Azure Repos already has for the two branches (it allows only one).
func (h *RepoHost) OpenPullRequest(ctx context.Context, pr trackers.PullRequest) (trackers.PullRequestRef, error) {
	source, target := branchRef(pr.Head), branchRef(pr.Base)
	req := map[string]any{
		"sourceRefName": source,
		"targetRefName": target,
		"title":         pr.Title,
		"isDraft":       pr.Draft,
	}
	body := pr.Body
	if id, ok := workItemRef(pr.TicketURL, pr.TicketID, h.api.base); ok {
		req["workItemRefs"] = []map[string]string{{"id": id}}
	} else if pr.TicketURL != "" && !strings.Contains(body, pr.TicketURL) {
		if body != "" {
			body += "\n\n"
		}
		body += "Ticket: " + pr.TicketURL
	}
	req["description"] = fitDescription(body)
	var created gitPullRequest
	err := h.api.do(ctx, call{
		what: fmt.Sprintf("open pull request %s → %s", pr.Head, pr.Base), method: "POST",
		path: h.repoPath() + "/pullrequests", body: req,
	}, &created)
	if err == nil {
		return trackers.PullRequestRef{Number: created.PullRequestID, URL: h.pullRequestURL(created.PullRequestID)}, nil
	}
	if statusOf(err) != http.StatusConflict {
		return trackers.PullRequestRef{}, fmt.Errorf("repo %s: %w", h.name, err)
	}
	existing, found, lerr := h.activeFor(ctx, source, target)
	switch {
	case lerr != nil:
		return trackers.PullRequestRef{}, fmt.Errorf("repo %s: %w (looking for the existing one: %w)", h.name, err, lerr)
	case !found:
		return trackers.PullRequestRef{}, fmt.Errorf("repo %s: %w", h.name, err)
	}
	return existing, nil
}

// activeFor finds the active pull request from source into target.
func (h *RepoHost) activeFor(ctx context.Context, source, target string) (trackers.PullRequestRef, bool, error) {
	var list struct {
		Value []gitPullRequest `json:"value"`
	}
	err := h.api.do(ctx, call{
		what: "list pull requests of " + source, method: "GET", idempotent: true,
		path: h.repoPath() + "/pullrequests",
		query: url.Values{
			"searchCriteria.sourceRefName": {source},
			"searchCriteria.targetRefName": {target},
			"searchCriteria.status":        {"active"},
		},
	}, &list)
	if err != nil || len(list.Value) == 0 {
		return trackers.PullRequestRef{}, false, err
	}
	id := list.Value[0].PullRequestID
	return trackers.PullRequestRef{Number: id, URL: h.pullRequestURL(id), Existing: true}, true, nil
}

// EditPullRequestBody replaces a pull request's description.
func (h *RepoHost) EditPullRequestBody(ctx context.Context, number int, body string) error {
	err := h.api.do(ctx, call{
		what: fmt.Sprintf("edit pull request %d", number), method: "PATCH", idempotent: true,
		path: h.repoPath() + "/pullrequests/" + strconv.Itoa(number),
		body: map[string]string{"description": fitDescription(body)},
	}, nil)
	if err != nil {
		return fmt.Errorf("repo %s: %w", h.name, notFound(err))
	}
	return nil
}

// pullRequestURL is the pull request's page in the web UI.
func (h *RepoHost) pullRequestURL(id int) string {
	return h.api.base + "/" + pathSegment(h.project) + "/_git/" + pathSegment(h.repo) + "/pullrequest/" + strconv.Itoa(id)
}

func branchRef(branch string) string {
	if strings.HasPrefix(branch, "refs/") {
		return branch
	}
	return "refs/heads/" + branch
}

// workItemRef is the work item to link a pull request to: the ticket's id
// when its URL is a work item page of the organization (or collection) at
// base. Tickets elsewhere (another organization, GitHub, Jira) are not
// linked.
func workItemRef(ticketURL, ticketID, base string) (string, bool) {
	if ticketURL == "" || ticketID == "" || strings.Trim(ticketID, "0123456789") != "" {
		return "", false
	}
	u, err := url.Parse(ticketURL)
	if err != nil {
		return "", false
	}
	prefix := strings.ToLower(strings.TrimRight(base, "/")) + "/"
	page := strings.ToLower(u.Scheme + "://" + u.Host + u.EscapedPath())
	if !strings.HasPrefix(page, prefix) || !strings.HasSuffix(page, "/_workitems/edit/"+ticketID) {
		return "", false
	}
	return ticketID, true
}

// maxDescription is the longest pull request description Azure Repos
// accepts, in UTF-16 code units (it counts .NET string length).
const maxDescription = 4000

const cutNote = "\n\n… (cut to the 4000 characters Azure Repos allows)"

// fitDescription cuts a description that is longer than Azure Repos
// accepts, saying so at the end, instead of failing the pull request.
func fitDescription(s string) string {
	if utf16Len(s) <= maxDescription {
		return s
	}
	budget := maxDescription - utf16Len(cutNote)
	var b strings.Builder
	n := 0
	for _, r := range s {
		w := max(utf16.RuneLen(r), 1)
		if n+w > budget {
			break
		}
		b.WriteRune(r)
		n += w
	}
	return b.String() + cutNote
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}
