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
// is run's, and the summary between the subject and the trailer. git
// commit --signoff (projects.<p>.commit.signoff) puts its Signed-off-by
// lines after the run's trailer.
func parseTrailer(msg, run string) (summary string, ok bool) {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	for len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], "Signed-off-by: ") {
		lines = lines[:len(lines)-1]
	}
	body := strings.TrimSpace(strings.Join(lines, "\n"))
	rest, found := strings.CutSuffix(body, runTrailer(run))
	if !found {
		return "", false
	}
	_, summary, _ = strings.Cut(strings.TrimSpace(rest), "\n\n")
	return strings.TrimSpace(summary), true
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
