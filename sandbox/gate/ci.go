package gate

import (
	"context"
	"fmt"
	"strings"
)

// ciPaths are the files and directories CI systems run from: a pushed
// branch runs their `on: push` pipelines, with the repository's secrets.
var ciPaths = []string{
	".github/workflows/", ".github/actions/", ".gitlab-ci.yml", ".gitlab/ci/", "azure-pipelines.yml", "azure-pipelines.yaml",
	".azure-pipelines/", ".circleci/", "Jenkinsfile", ".buildkite/", ".drone.yml", ".travis.yml", "bitbucket-pipelines.yml",
}

// ciConfig reports whether path is CI configuration.
func ciConfig(path string) bool {
	for _, p := range ciPaths {
		if path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) ||
			(strings.HasPrefix(p, "azure-pipelines") && strings.HasPrefix(path, "azure-pipelines")) {
			return true
		}
	}
	return false
}

// guardCI refuses a push whose changes from base touch CI configuration.
func (g *Gate) guardCI(ctx context.Context, base, commit string) error {
	out, err := g.run(ctx, nil, g.repo, "diff", "--name-only", "--no-renames", "-z", base, commit)
	if err != nil {
		return err
	}
	var touched []string
	for _, p := range strings.Split(out, "\x00") {
		if p != "" && ciConfig(p) {
			touched = append(touched, p)
		}
	}
	if len(touched) > 0 {
		return fmt.Errorf("the push changes CI configuration (%s), which this project does not allow: set projects.<project>.allow_ci_config_changes to push such changes",
			strings.Join(touched, ", "))
	}
	return nil
}
