package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
)

// RepoHost is a GitHub repository as a trackers.RepoHost.
type RepoHost struct {
	name          string
	api           *api
	cloneURL      string
	defaultBranch string
}

var _ trackers.RepoHost = (*RepoHost)(nil)

// NewRepoHost builds the host of repository name from its config entry; the
// token comes from the secret its auth names. It makes no request.
func NewRepoHost(name string, r *config.Repo, cfg *config.Config, opts ...Option) (*RepoHost, error) {
	if r.Type != config.RepoGitHub {
		return nil, fmt.Errorf("repo %s is of type %s, not github", name, r.Type)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	full, err := repoFromURL(r.URL)
	if err != nil {
		return nil, fmt.Errorf("repo %s: %w", name, err)
	}
	cred, err := tokenCredentials("repo "+name, r.Auth, cfg)
	if err != nil {
		return nil, err
	}
	a, err := newAPI(r.APIURL, full, cred, false, o)
	if err != nil {
		return nil, fmt.Errorf("repo %s: %w", name, err)
	}
	return &RepoHost{name: name, api: a, cloneURL: redactURL(r.URL), defaultBranch: r.DefaultBranch}, nil
}

// DefaultBranch is the configured default_branch, else the repository's
// default branch as GitHub reports it.
func (h *RepoHost) DefaultBranch(ctx context.Context) (string, error) {
	if h.defaultBranch != "" {
		return h.defaultBranch, nil
	}
	var repo *gh.Repository
	err := h.api.Call(ctx, "get repository "+h.api.owner+"/"+h.api.repo, true, func(ctx context.Context) (err error) {
		repo, _, err = h.api.gh.Repositories.Get(ctx, h.api.owner, h.api.repo)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("repo %s: %w", h.name, notFound(err))
	}
	if repo.GetDefaultBranch() == "" {
		return "", fmt.Errorf("repo %s: GitHub reports no default branch (empty repository?)", h.name)
	}
	return repo.GetDefaultBranch(), nil
}

// CloneURL is the configured URL without any userinfo.
func (h *RepoHost) CloneURL() string { return h.cloneURL }

// OpenPullRequest opens a pull request from pr.Head into pr.Base (the
// default branch when empty) with the ticket reference added to the body,
// or returns the open one GitHub already has for that head branch. Where a
// repository does not allow draft pull requests, it opens a ready one
// rather than none.
func (h *RepoHost) OpenPullRequest(ctx context.Context, pr trackers.PullRequest) (trackers.PullRequestRef, error) {
	if pr.Base == "" {
		base, err := h.DefaultBranch(ctx)
		if err != nil {
			return trackers.PullRequestRef{}, err
		}
		pr.Base = base
	}
	body := withTicketRef(pr.Body, pr.TicketURL, h.cloneURL)
	draft := pr.Draft
	for {
		var created *gh.PullRequest
		err := h.api.Call(ctx, fmt.Sprintf("open pull request %s → %s", pr.Head, pr.Base), false, func(ctx context.Context) (err error) {
			created, _, err = h.api.gh.PullRequests.Create(ctx, h.api.owner, h.api.repo, &gh.NewPullRequest{
				Title: &pr.Title, Head: &pr.Head, Base: &pr.Base, Body: &body, Draft: &draft,
			})
			return err
		})
		if err == nil {
			return trackers.PullRequestRef{Number: created.GetNumber(), URL: created.GetHTMLURL()}, nil
		}
		switch {
		case statusOf(err) != http.StatusUnprocessableEntity:
			return trackers.PullRequestRef{}, fmt.Errorf("repo %s: %w", h.name, err)
		case draft && mentions(err, "draft"):
			draft = false
			continue
		}
		existing, found, lerr := h.openFor(ctx, pr.Head)
		if lerr != nil {
			return trackers.PullRequestRef{}, fmt.Errorf("repo %s: %w (looking for an existing one: %w)", h.name, err, lerr)
		}
		if !found {
			return trackers.PullRequestRef{}, fmt.Errorf("repo %s: %w", h.name, err)
		}
		return existing, nil
	}
}

// openFor finds the open pull request whose head is branch.
func (h *RepoHost) openFor(ctx context.Context, branch string) (trackers.PullRequestRef, bool, error) {
	var prs []*gh.PullRequest
	err := h.api.Call(ctx, "list pull requests of "+branch, true, func(ctx context.Context) (err error) {
		prs, _, err = h.api.gh.PullRequests.List(ctx, h.api.owner, h.api.repo, &gh.PullRequestListOptions{
			State: "open", Head: h.api.owner + ":" + branch,
		})
		return err
	})
	if err != nil || len(prs) == 0 {
		return trackers.PullRequestRef{}, false, err
	}
	return trackers.PullRequestRef{Number: prs[0].GetNumber(), URL: prs[0].GetHTMLURL(), Existing: true}, true, nil
}

// EditPullRequestBody replaces a pull request's description.
func (h *RepoHost) EditPullRequestBody(ctx context.Context, number int, body string) error {
	err := h.api.Call(ctx, fmt.Sprintf("edit pull request %d", number), true, func(ctx context.Context) error {
		_, _, err := h.api.gh.PullRequests.Edit(ctx, h.api.owner, h.api.repo, number, &gh.PullRequest{Body: &body})
		return err
	})
	if err != nil {
		return fmt.Errorf("repo %s: %w", h.name, notFound(err))
	}
	return nil
}

// mentions reports whether a GitHub validation error's messages contain s.
func mentions(err error, s string) bool {
	er, ok := errors.AsType[*gh.ErrorResponse](err)
	if !ok {
		return false
	}
	texts := []string{er.Message}
	for _, e := range er.Errors {
		texts = append(texts, e.Message, e.Field)
	}
	return strings.Contains(strings.ToLower(strings.Join(texts, " ")), strings.ToLower(s))
}

// withTicketRef appends the closing reference GitHub understands for the
// ticket at ticketURL ("Fixes #N" in this repository, "Fixes owner/repo#N"
// in another repository on the same host) unless body already has it; a
// ticket elsewhere (Jira, Azure DevOps, another host) is linked by URL.
func withTicketRef(body, ticketURL, repoURL string) string {
	if ticketURL == "" {
		return body
	}
	ref := "Ticket: " + ticketURL
	if repo, n, ok := githubIssue(ticketURL, repoURL); ok {
		ref = "Fixes " + repo + "#" + n
		if this, err := repoFromURL(repoURL); err == nil && strings.EqualFold(repo, this) {
			ref = "Fixes #" + n
		}
	}
	return trackers.AppendReference(body, ref)
}

// githubIssue splits https://host/owner/repo/issues/N when host is the
// repository's host.
func githubIssue(ticketURL, repoURL string) (repo, number string, ok bool) {
	t, err := url.Parse(ticketURL)
	if err != nil {
		return "", "", false
	}
	r, err := url.Parse(repoURL)
	if err != nil || !strings.EqualFold(t.Host, r.Host) {
		return "", "", false
	}
	parts := strings.Split(strings.Trim(t.Path, "/"), "/")
	if len(parts) != 4 || parts[2] != "issues" || parts[3] == "" || strings.Trim(parts[3], "0123456789") != "" {
		return "", "", false
	}
	return parts[0] + "/" + parts[1], parts[3], true
}
