package pipeline

import (
	"context"
	"fmt"
	"strings"
)

// checkoutAll checks out every repository at once.
func (j *job) checkoutAll(ctx context.Context) error {
	return j.eachRepo(ctx, j.checkout)
}

// checkout fetches r into its sandbox's work root and checks out the run's
// branch: the remote one when it exists (a re-run continues the earlier
// work), else a new one from the base branch. It works in a work root that
// is not empty (a toolchain may have written its caches there), which
// `git clone` would refuse.
func (j *job) checkout(ctx context.Context, r *repo) error {
	setup := [][]string{
		{"init", "-q"},
		{"remote", "add", "origin", r.cloneURL},
		{"config", "--local", "user.name", gitName},
		{"config", "--local", "user.email", gitEmail},
	}
	if r.cfg.Auth != "" {
		// The empty entry clears helpers from global configs, so only ours
		// answers for this repository.
		setup = append(setup,
			[]string{"config", "--local", "credential.helper", ""},
			[]string{"config", "--local", "--add", "credential.helper", credentialHelper})
	}
	for _, args := range setup {
		if _, err := j.must(ctx, r, gitStep(gitLocalTimeout, args...)); err != nil {
			return err
		}
	}
	base, err := j.baseBranch(ctx, r)
	if err != nil {
		return err
	}
	r.base = base
	out, err := j.must(ctx, r, gitStep(gitNetworkTimeout, "ls-remote", "--heads", "origin", "refs/heads/"+base, "refs/heads/"+r.branch))
	if err != nil {
		return err
	}
	refs := parseLsRemote(out)
	r.baseSHA = refs["refs/heads/"+base]
	if r.baseSHA == "" {
		return fmt.Errorf("%s: the base branch %s does not exist on the remote", r.name, base)
	}
	r.remoteSHA = refs["refs/heads/"+r.branch]
	fetch := []string{"fetch", "--no-tags", "origin", "+refs/heads/" + base + ":refs/remotes/origin/" + base}
	start := "origin/" + base
	if r.remoteSHA != "" {
		fetch = append(fetch, "+refs/heads/"+r.branch+":refs/remotes/origin/"+r.branch)
		start = "origin/" + r.branch
	}
	if _, err := j.must(ctx, r, gitStep(gitNetworkTimeout, fetch...)); err != nil {
		return err
	}
	if _, err := j.must(ctx, r, gitStep(gitLocalTimeout, "checkout", "-q", "--no-track", "-B", r.branch, start)); err != nil {
		return err
	}
	head, err := j.must(ctx, r, gitStep(gitLocalTimeout, "rev-parse", "HEAD"))
	if err != nil {
		return err
	}
	r.startSHA = strings.TrimSpace(head)
	r.checkedOut = true
	how := "new from " + base
	if r.remoteSHA != "" {
		how = "continuing the existing branch"
		if err := j.readCheckpoint(ctx, r); err != nil {
			return err
		}
	}
	if r.pushedBefore {
		how = "already pushed by this run"
	}
	j.note(ctx, "%s: checked out %s, %s", r.name, r.branch, how)
	return nil
}

// readCheckpoint looks at the head commit of the run's branch on the
// remote: when it ends in this run's trailer (commitMessage), an earlier
// execution of this very run pushed it, and Redis lost what followed. The
// job then goes straight to the pull requests, at no model cost, with the
// summary the commit carries.
func (j *job) readCheckpoint(ctx context.Context, r *repo) error {
	msg, err := j.must(ctx, r, gitStep(gitLocalTimeout, "log", "-1", "--format=%B", "origin/"+r.branch))
	if err != nil {
		return err
	}
	summary, ok := parseTrailer(msg, j.run.ID)
	if !ok {
		return nil
	}
	r.pushedBefore, j.pushedBefore = true, true
	if j.summary == "" {
		j.summary = summary
	}
	return nil
}

// parseTrailer reads a commit message written by commitMessage: whether it
// is run's, and the summary between the subject and the trailer.
func parseTrailer(msg, run string) (summary string, ok bool) {
	body := strings.TrimSpace(msg)
	rest, found := strings.CutSuffix(body, runTrailer(run))
	if !found {
		return "", false
	}
	_, summary, _ = strings.Cut(strings.TrimSpace(rest), "\n\n")
	return strings.TrimSpace(summary), true
}

// baseBranch is the branch pull requests go into: the repository's
// default_branch, else what its host says, else the remote's HEAD.
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
	out, err := j.must(ctx, r, gitStep(gitNetworkTimeout, "ls-remote", "--symref", "origin", "HEAD"))
	if err != nil {
		return "", err
	}
	b := parseSymref(out)
	if b == "" {
		return "", fmt.Errorf("%s: the remote does not say its default branch; set repos.%s.default_branch", r.name, r.name)
	}
	return b, nil
}
