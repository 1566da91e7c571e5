// Package connect builds the trackers and repository hosts an
// agentsmith.yml names, each with the package of its type.
//
// It is the one package that imports the tracker implementations; it must
// not import runs, llm, sandbox or controllers.
package connect

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/azuredevops"
	"github.com/agent-smith/agent-smith/trackers/github"
	"github.com/agent-smith/agent-smith/trackers/gitlab"
	"github.com/agent-smith/agent-smith/trackers/jira"
)

// Trackers builds every tracker of cfg, keyed by name. Building does no
// I/O; a tracker that cannot be built (a missing secret) is an error naming
// it.
func Trackers(cfg *config.Config) (map[string]trackers.Tracker, error) {
	out := make(map[string]trackers.Tracker, len(cfg.Trackers))
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(cfg.Trackers)) {
		t, err := Tracker(cfg, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[name] = t
	}
	return out, errors.Join(errs...)
}

// Tracker builds tracker name of cfg.
func Tracker(cfg *config.Config, name string) (trackers.Tracker, error) {
	t, ok := cfg.Trackers[name]
	if !ok {
		return nil, fmt.Errorf("tracker %q is not in the configuration", name)
	}
	var (
		tr  trackers.Tracker
		err error
	)
	switch t.Type {
	case config.TrackerGitHub:
		tr, err = github.New(name, t, cfg)
	case config.TrackerGitLab:
		tr, err = gitlab.New(name, t, cfg)
	case config.TrackerAzureDevOps:
		tr, err = azuredevops.New(name, t, cfg)
	case config.TrackerJira:
		tr, err = jira.New(name, t, cfg)
	default:
		return nil, fmt.Errorf("tracker %s: type %q is not supported", name, t.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("tracker %s: %w", name, err)
	}
	return tr, nil
}

// RepoHost builds the host of repository name of cfg. A plain git
// repository has no host API: it is pushed to, and no pull request opens
// (trackers.ErrNoHost).
func RepoHost(cfg *config.Config, name string) (trackers.RepoHost, error) {
	r, ok := cfg.Repos[name]
	if !ok {
		return nil, fmt.Errorf("repository %q is not in the configuration", name)
	}
	var (
		h   trackers.RepoHost
		err error
	)
	switch r.Type {
	case config.RepoGitHub:
		h, err = github.NewRepoHost(name, r, cfg)
	case config.RepoGitLab:
		h, err = gitlab.NewRepoHost(name, r, cfg)
	case config.RepoAzureDevOps:
		h, err = azuredevops.NewRepoHost(name, r, cfg)
	case config.RepoGit:
		return nil, fmt.Errorf("repository %s: %w", name, trackers.ErrNoHost)
	default:
		return nil, fmt.Errorf("repository %s: type %q is not supported", name, r.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", name, err)
	}
	return h, nil
}

// Warm starts the background work some trackers need before their first
// webhook (GitLab reads the project's members to judge who may instruct
// agent-smith) and returns at once; failures are logged, the trackers retry
// on their own.
func Warm(ctx context.Context, trs map[string]trackers.Tracker, log logr.Logger) {
	for name, t := range trs {
		if w, ok := t.(interface{ RefreshMembers(context.Context) error }); ok {
			go func() {
				if err := w.RefreshMembers(ctx); err != nil && ctx.Err() == nil {
					log.Error(err, "reading the tracker's members failed; comments are judged once it succeeds", "tracker", name)
				}
			}()
		}
	}
}
