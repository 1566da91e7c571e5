package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/trackers"
)

// envGitToken is the sandbox environment variable the credential helper
// reads (the Kubernetes pod builder sets the same one from the Secret).
const envGitToken = "GIT_TOKEN"

// repo is one repository of the run as the steps learn about it.
type repo struct {
	name string
	cfg  *config.Repo
	sb   sandbox.Sandbox
	// host opens pull requests; nil for a plain git repository.
	host trackers.RepoHost

	cloneURL string
	base     string
	baseSHA  string
	branch   string
	// remoteSHA is the run's branch on the remote at checkout, "" when the
	// branch is new.
	remoteSHA  string
	startSHA   string
	checkedOut bool
	// pushedBefore: the remote branch's head is this run's own commit.
	pushedBefore bool

	language    string
	testCommand string
	tree        string

	// Set by push and pull-requests.
	hasWork bool
	pushed  bool
	pr      *trackers.PullRequestRef
	prErr   string
}

// provision starts a sandbox per repository of the run and marks the run
// ready once all are up.
func (j *job) provision(ctx context.Context) error {
	req := sandbox.ProvisionRequest{RunID: j.run.ID, Attempt: j.run.Attempt, Fence: j.run.Fence}
	for _, name := range j.run.Repos {
		rc, ok := j.cfg.Repos[name]
		if !ok {
			return fmt.Errorf("repository %s is no longer in the configuration", name)
		}
		spec := sandbox.RepoSpec{Name: name}
		if rc.Auth != "" {
			token, ok := j.cfg.Secret(rc.Auth)
			if !ok {
				return fmt.Errorf("repository %s: its auth secret %q is not defined", name, rc.Auth)
			}
			spec.Env = map[string]string{envGitToken: token}
		}
		req.Repos = append(req.Repos, spec)
		r := &repo{name: name, cfg: rc, branch: branchFor(j.run.Ticket)}
		host, err := j.p.deps.RepoHost(j.cfg, name)
		switch {
		case errors.Is(err, trackers.ErrNoHost):
			r.cloneURL = rc.URL
		case err != nil:
			return err
		default:
			r.host, r.cloneURL = guardHost(host, j.lease), host.CloneURL()
		}
		j.repos = append(j.repos, r)
	}
	// Set before provisioning: Release is then due whatever happens.
	j.sandboxes = map[string]sandbox.Sandbox{}
	sbs, err := j.p.deps.Provisioner.Provision(ctx, req)
	if err != nil {
		return err
	}
	j.sandboxes = sbs
	for _, r := range j.repos {
		r.sb = sbs[r.name]
		if r.sb == nil {
			return fmt.Errorf("the provisioner returned no sandbox for %s", r.name)
		}
		j.note(ctx, "%s: %s", r.name, r.sb.JobID())
	}
	_, err = j.lease.Apply(ctx, runs.EventReady, runs.Update{})
	return err
}
