// Package connect is the table of tracker types: it maps each type name
// of agentsmith.yml to what config reads of its blocks (config.TrackerKind)
// and to the constructor of its tracker, whose webhook parser and poller
// come with it. It also builds the repository hosts a config names. It is
// the one place that imports every tracker package; adding a tracker type
// is one package and one line in Builtin.
//
// It must not import runs, llm, sandbox or controllers.
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

// Entry is one tracker type: what config reads of its blocks, and how to
// build the tracker of a block.
type Entry struct {
	Kind config.TrackerKind
	// New builds tracker name from its block; it makes no request.
	New func(name string, t *config.Tracker, cfg *config.Config) (trackers.Tracker, error)
}

// Table maps tracker type names to their entries.
type Table map[string]Entry

// Builtin is the table of the tracker types agent-smith ships.
func Builtin() Table {
	return Table{
		github.Type:      {github.Kind(), build(github.New)},
		gitlab.Type:      {gitlab.Kind(), build(gitlab.New)},
		azuredevops.Type: {azuredevops.Kind(), build(azuredevops.New)},
		jira.Type:        {jira.Kind(), build(jira.New)},
	}
}

// build adapts a tracker package's New, whose options stay at their
// defaults in production, to Entry.New.
func build[T trackers.Tracker, O any](newTracker func(string, *config.Tracker, *config.Config, ...O) (T, error)) func(string, *config.Tracker, *config.Config) (trackers.Tracker, error) {
	return func(name string, t *config.Tracker, cfg *config.Config) (trackers.Tracker, error) {
		return newTracker(name, t, cfg)
	}
}

// Kinds is what config needs of every type of the table (config.Kinds'
// Trackers).
func (tb Table) Kinds() map[string]config.TrackerKind {
	out := make(map[string]config.TrackerKind, len(tb))
	for name, e := range tb {
		out[name] = e.Kind
	}
	return out
}

// Trackers builds every tracker of cfg, keyed by name. Building does no
// I/O; a tracker that cannot be built (a missing secret) is an error naming
// it.
func (tb Table) Trackers(cfg *config.Config) (map[string]trackers.Tracker, error) {
	out := make(map[string]trackers.Tracker, len(cfg.Trackers))
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(cfg.Trackers)) {
		t, err := tb.Tracker(cfg, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[name] = t
	}
	return out, errors.Join(errs...)
}

// Tracker builds tracker name of cfg.
func (tb Table) Tracker(cfg *config.Config, name string) (trackers.Tracker, error) {
	t, ok := cfg.Trackers[name]
	if !ok {
		return nil, fmt.Errorf("tracker %q is not in the configuration", name)
	}
	e, ok := tb[string(t.Type)]
	if !ok {
		return nil, fmt.Errorf("tracker %s: type %q is not supported", name, t.Type)
	}
	tr, err := e.New(name, t, cfg)
	if err != nil {
		return nil, fmt.Errorf("tracker %s: %w", name, err)
	}
	return tr, nil
}

// Kinds is Builtin().Kinds().
func Kinds() map[string]config.TrackerKind { return Builtin().Kinds() }

// Trackers is Builtin().Trackers.
func Trackers(cfg *config.Config) (map[string]trackers.Tracker, error) {
	return Builtin().Trackers(cfg)
}

// Tracker is Builtin().Tracker.
func Tracker(cfg *config.Config, name string) (trackers.Tracker, error) {
	return Builtin().Tracker(cfg, name)
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

// Warm starts the background work trackers need before their first
// webhook and returns at once: each learns which account it acts as
// (trackers.Self), so comment deliveries can tell agent-smith's own
// comments from people's, and GitLab reads the project's members with
// it to judge who may instruct agent-smith. Failures are logged; the
// trackers retry on their own.
func Warm(ctx context.Context, trs map[string]trackers.Tracker, log logr.Logger) {
	for name, t := range trs {
		if s, ok := t.(trackers.Self); ok {
			go func() {
				if _, err := s.Self(ctx); err != nil && ctx.Err() == nil {
					log.Error(err, "learning which account agent-smith is on the tracker failed; comment deliveries are ignored until it succeeds", "tracker", name)
				}
			}()
		}
	}
}
