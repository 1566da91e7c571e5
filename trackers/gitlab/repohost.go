package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
)

// RepoHost is a GitLab project as a trackers.RepoHost.
type RepoHost struct {
	name          string
	api           *api
	cloneURL      string
	instance      string
	defaultBranch string
}

var _ trackers.RepoHost = (*RepoHost)(nil)

// NewRepoHost builds the host of repository name from its config entry:
// the project is the path of its url below the instance (api_url, derived
// from url when unset), the token comes from the secret its auth names.
// It makes no request.
func NewRepoHost(name string, r *config.Repo, cfg *config.Config, opts ...Option) (*RepoHost, error) {
	if r.Type != config.RepoGitLab {
		return nil, fmt.Errorf("repo %s is of type %s, not gitlab", name, r.Type)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	instance := r.APIURL
	if o.baseURL != "" {
		instance = o.baseURL
	}
	if instance == "" {
		u, err := url.Parse(r.URL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("repo %s: set api_url: the instance cannot be derived from url %s", name, redactURL(r.URL))
		}
		instance = u.Scheme + "://" + u.Host
	}
	project, err := projectFromURL(r.URL, instance)
	if err != nil {
		return nil, fmt.Errorf("repo %s: %w", name, err)
	}
	tok, err := token("repo "+name, r.Auth, cfg)
	if err != nil {
		return nil, err
	}
	a, err := newAPI(instance, project, tok, o)
	if err != nil {
		return nil, fmt.Errorf("repo %s: %w", name, err)
	}
	return &RepoHost{name: name, api: a, cloneURL: redactURL(r.URL), instance: instance, defaultBranch: r.DefaultBranch}, nil
}

// DefaultBranch is the configured default_branch, else the project's
// default branch as GitLab reports it.
func (h *RepoHost) DefaultBranch(ctx context.Context) (string, error) {
	if h.defaultBranch != "" {
		return h.defaultBranch, nil
	}
	var p *gl.Project
	err := h.api.Call(ctx, "get project "+h.api.project, true, func(ctx context.Context) (err error) {
		p, _, err = h.api.gl.Projects.GetProject(h.api.project, nil, gl.WithContext(ctx))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("repo %s: %w", h.name, notFound(err))
	}
	if p.DefaultBranch == "" {
		return "", fmt.Errorf("repo %s: GitLab reports no default branch (empty repository?)", h.name)
	}
	return p.DefaultBranch, nil
}

// CloneURL is the configured URL without any userinfo.
func (h *RepoHost) CloneURL() string { return h.cloneURL }

// draftPrefix matches the title prefixes by which GitLab marks a merge
// request as a draft; its API has no draft flag on create.
var draftPrefix = regexp.MustCompile(`(?i)^\s*(\[draft\]|\(draft\)|draft:)`)

// OpenPullRequest opens a merge request from pr.Head into pr.Base (a draft
// is titled "Draft: …", which is how GitLab marks one) with the ticket
// reference added to the description, or returns the open one GitLab
// already has for those branches (it answers 409 to a second).
func (h *RepoHost) OpenPullRequest(ctx context.Context, pr trackers.PullRequest) (trackers.PullRequestRef, error) {
	title := pr.Title
	if pr.Draft && !draftPrefix.MatchString(title) {
		title = "Draft: " + title
	}
	body := withTicketRef(pr.Body, pr.TicketURL, h.cloneURL, h.instance)
	var created *gl.MergeRequest
	err := h.api.Call(ctx, fmt.Sprintf("open merge request %s → %s", pr.Head, pr.Base), false, func(ctx context.Context) (err error) {
		created, _, err = h.api.gl.MergeRequests.CreateMergeRequest(h.api.project, &gl.CreateMergeRequestOptions{
			Title: &title, Description: &body, SourceBranch: &pr.Head, TargetBranch: &pr.Base,
		}, gl.WithContext(ctx))
		return err
	})
	if err == nil {
		return trackers.PullRequestRef{Number: int(created.IID), URL: created.WebURL}, nil
	}
	if statusOf(err) != http.StatusConflict {
		return trackers.PullRequestRef{}, fmt.Errorf("repo %s: %w", h.name, notFound(err))
	}
	existing, found, lerr := h.openFor(ctx, pr.Head, pr.Base)
	switch {
	case lerr != nil:
		return trackers.PullRequestRef{}, fmt.Errorf("repo %s: %w (looking for the existing one: %w)", h.name, err, lerr)
	case !found:
		return trackers.PullRequestRef{}, fmt.Errorf("repo %s: %w", h.name, err)
	}
	return existing, nil
}

// openFor finds the open merge request from source into target.
func (h *RepoHost) openFor(ctx context.Context, source, target string) (trackers.PullRequestRef, bool, error) {
	var mrs []*gl.BasicMergeRequest
	state := "opened"
	err := h.api.Call(ctx, "list merge requests of "+source, true, func(ctx context.Context) (err error) {
		mrs, _, err = h.api.gl.MergeRequests.ListProjectMergeRequests(h.api.project, &gl.ListProjectMergeRequestsOptions{
			State: &state, SourceBranch: &source, TargetBranch: &target,
		}, gl.WithContext(ctx))
		return err
	})
	if err != nil || len(mrs) == 0 {
		return trackers.PullRequestRef{}, false, err
	}
	return trackers.PullRequestRef{Number: int(mrs[0].IID), URL: mrs[0].WebURL, Existing: true}, true, nil
}

// EditPullRequestBody replaces a merge request's description.
func (h *RepoHost) EditPullRequestBody(ctx context.Context, number int, body string) error {
	err := h.api.Call(ctx, fmt.Sprintf("edit merge request !%d", number), true, func(ctx context.Context) error {
		_, _, err := h.api.gl.MergeRequests.UpdateMergeRequest(h.api.project, int64(number), &gl.UpdateMergeRequestOptions{Description: &body}, gl.WithContext(ctx))
		return err
	})
	if err != nil {
		return fmt.Errorf("repo %s: %w", h.name, notFound(err))
	}
	return nil
}

// withTicketRef appends the closing reference GitLab understands for the
// ticket at ticketURL ("Closes #N" in this project, "Closes group/name#N"
// in another project of the same instance) unless body already has it; a
// ticket elsewhere (Jira, Azure DevOps, GitHub) is linked by URL.
func withTicketRef(body, ticketURL, repoURL, instance string) string {
	if ticketURL == "" {
		return body
	}
	ref := "Ticket: " + ticketURL
	if project, iid, ok := gitlabIssue(ticketURL, instance); ok {
		ref = "Closes " + project + "#" + iid
		if this, err := projectFromURL(repoURL, instance); err == nil && strings.EqualFold(project, this) {
			ref = "Closes #" + iid
		}
	}
	return trackers.AppendReference(body, ref)
}

// gitlabIssue splits https://host/group/…/name/-/issues/N on the instance
// into the project path and N.
func gitlabIssue(ticketURL, instance string) (project, iid string, ok bool) {
	t, err := url.Parse(ticketURL)
	if err != nil {
		return "", "", false
	}
	i, err := url.Parse(instance)
	if err != nil || !strings.EqualFold(t.Host, i.Host) {
		return "", "", false
	}
	prefix := strings.TrimSuffix(strings.TrimRight(i.Path, "/"), "/api/v4")
	path, n, found := strings.Cut(strings.TrimPrefix(t.Path, prefix), "/-/issues/")
	path = strings.Trim(path, "/")
	if !found || !strings.Contains(path, "/") || n == "" || strings.Trim(n, "0123456789") != "" {
		return "", "", false
	}
	return path, n, true
}
