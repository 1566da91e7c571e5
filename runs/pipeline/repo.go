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

// repo is one repository of the run as the steps learn about it.
type repo struct {
	name string
	cfg  *config.Repo
	sb   sandbox.Sandbox
	// git is the sandbox's git gate: fetch and push, never the sandbox's
	// own git; cred is what it authenticates with, nil for none.
	git  sandbox.Gate
	cred *sandbox.GitCredential
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
	// The run read starting while its ticket was read; from here on its
	// sandboxes are being made.
	if _, err := j.lease.Apply(ctx, runs.EventProvision, runs.Update{}); err != nil {
		return err
	}
	req := sandbox.ProvisionRequest{RunID: j.run.ID, Attempt: j.run.Attempt, Fence: j.run.Fence}
	branch := runs.BranchFor(j.run.Ticket)
	for _, name := range j.run.Repos {
		rc, ok := j.cfg.Repos[name]
		if !ok {
			return fmt.Errorf("repository %s is no longer in the configuration", name)
		}
		r := &repo{name: name, cfg: rc, branch: branch}
		if rc.Auth != "" {
			token, ok := j.cfg.Secret(rc.Auth)
			if !ok {
				return fmt.Errorf("repository %s: its auth secret %q is not defined", name, rc.Auth)
			}
			// x-access-token is GitHub's user name for tokens; GitLab and
			// Azure DevOps take any user name with a token.
			r.cred = &sandbox.GitCredential{Username: "x-access-token", Password: token}
		}
		host, err := j.p.deps.RepoHost(j.cfg, name)
		switch {
		case errors.Is(err, trackers.ErrNoHost):
			r.cloneURL = rc.URL
		case err != nil:
			return err
		default:
			r.host, r.cloneURL = guardHost(host, j.lease), host.CloneURL()
		}
		req.Repos = append(req.Repos, sandbox.RepoSpec{Name: name,
			RemoteURL: r.cloneURL, Branch: branch, AllowCIConfigChanges: j.project.AllowCIConfigChanges})
		j.repos = append(j.repos, r)
	}
	// Set before provisioning: Release is then due whatever happens.
	j.sandboxes = map[string]sandbox.Sandbox{}
	provisioned, err := j.p.deps.Provisioner.Provision(ctx, req)
	if err != nil {
		return err
	}
	for _, r := range j.repos {
		p, ok := provisioned[r.name]
		if !ok || p.Work == nil || p.Git == nil {
			return fmt.Errorf("the provisioner returned no sandbox for %s", r.name)
		}
		r.sb, r.git = p.Work, p.Git
		// The model's commands go to the transcript; the pipeline's own
		// git plumbing tells its outcome in notes.
		j.sandboxes[r.name] = recordingSandbox{Sandbox: p.Work, j: j, repo: r.name}
		j.note(ctx, "%s: %s", r.name, r.sb.JobID())
	}
	_, err = j.lease.Apply(ctx, runs.EventReady, runs.Update{})
	return err
}
