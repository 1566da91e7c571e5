package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/agent-smith/agent-smith/sandbox"
)

// checkoutAll checks out every repository at once.
func (j *job) checkoutAll(ctx context.Context) error {
	return j.eachRepo(ctx, j.checkout)
}

// checkout has r's gate fetch the base branch and the run's branch, then
// makes the sandbox's work root a checkout of the run's branch: the remote
// one when it exists (a re-run continues the earlier work), else a new one
// from the base branch. The work root reads the gate's objects as git
// alternates, so nothing is copied and the sandbox never talks to the
// remote. It works in a work root that is not empty (a toolchain may have
// written its caches there), which `git clone` would refuse.
func (j *job) checkout(ctx context.Context, r *repo) error {
	base, err := j.baseBranch(ctx, r)
	if err != nil {
		return err
	}
	fetched, err := r.git.Fetch(ctx, sandbox.FetchRequest{Base: base, Branch: r.branch, Credential: r.cred})
	if err != nil {
		return fmt.Errorf("%s: fetch: %w", r.name, err)
	}
	r.base, r.baseSHA, r.remoteSHA = fetched.Base, fetched.BaseSHA, fetched.BranchSHA
	if _, err := j.must(ctx, r, gitStep(gitLocalTimeout, "init", "-q")); err != nil {
		return err
	}
	if err := sandbox.WriteFile(ctx, r.sb, ".git/objects/info/alternates", fetched.ObjectsDir+"\n"); err != nil {
		return fmt.Errorf("%s: point the checkout at the gate's objects: %w", r.name, err)
	}
	start := "refs/remotes/origin/" + r.base
	setup := [][]string{
		{"update-ref", start, r.baseSHA},
		// origin is for show: the sandbox's git has no credential, the
		// gate fetches and pushes.
		{"remote", "add", "origin", r.cloneURL},
		{"config", "--local", "user.name", j.project.Commit.AuthorName},
		{"config", "--local", "user.email", j.project.Commit.AuthorEmail},
	}
	if r.remoteSHA != "" {
		start = "refs/remotes/origin/" + r.branch
		setup = append(setup, []string{"update-ref", start, r.remoteSHA})
	}
	setup = append(setup, []string{"checkout", "-q", "--no-track", "-B", r.branch, start})
	for _, args := range setup {
		if _, err := j.must(ctx, r, gitStep(gitLocalTimeout, args...)); err != nil {
			return err
		}
	}
	head, err := j.must(ctx, r, gitStep(gitLocalTimeout, "rev-parse", "HEAD"))
	if err != nil {
		return err
	}
	r.startSHA = strings.TrimSpace(head)
	r.checkedOut = true
	how := "new from " + r.base
	if r.remoteSHA != "" {
		how = "continuing the existing branch"
	}
	j.note(ctx, "%s: checked out %s, %s", r.name, r.branch, how)
	return nil
}

// baseBranch is the branch pull requests go into: the repository's
// default_branch, else what its host says, else "" for the gate to find
// the remote's HEAD.
func (j *job) baseBranch(ctx context.Context, r *repo) (string, error) {
	if r.cfg.DefaultBranch != "" {
		return r.cfg.DefaultBranch, nil
	}
	if r.host != nil {
		b, err := r.host.DefaultBranch(ctx)
		if err != nil {
			return "", fmt.Errorf("%s: default branch: %w", r.name, err)
		}
		return b, nil
	}
	return "", nil
}
