package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agent-smith/agent-smith/config"
)

func TestExampleConfigsLoad(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil || len(files) < 3 {
		t.Fatalf("testdata examples: %v, %v", files, err)
	}
	env := envWith(map[string]string{"GITHUB_APP_PRIVATE_KEY": "-----BEGIN KEY-----", "GITLAB_TOKEN": "glpat-123456", "JIRA_TOKEN": "jira-123456"})
	for _, f := range files {
		if _, err := config.Load(f, env, kinds()); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// The configs a user starts from load without a warning: the local
// example (`make run`) and the TodoList example (which is also the
// manifests' ConfigMap, as the manifests test checks).
func TestTheSeedConfigsLoadWithoutWarnings(t *testing.T) {
	for _, path := range []string{"../examples/local/agentsmith.yml", "testdata/todolist.yml"} {
		cfg, err := config.Load(path, envWith(nil), kinds())
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if len(cfg.Warnings) > 0 {
			t.Errorf("%s warns: %v", path, config.Errors(cfg.Warnings))
		}
	}
}

// FuzzParse feeds arbitrary documents to Parse: it must never panic, fail
// only with Errors that each say something, and never let a secret value
// into an error, a redacted config or a summary.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(baseDoc + webProject))
	f.Add([]byte("a: &a {<<: *a}\n"))
	f.Add([]byte("queue: {max_parallel_jobs: ${X:-4}}\nsecrets: {k: $${Y}}\n"))
	env := envWith(map[string]string{"GITHUB_APP_PRIVATE_KEY": "-----BEGIN KEY-----", "GITLAB_TOKEN": "glpat-123456", "JIRA_TOKEN": "jira-123456"})
	k := kinds()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(data, "fuzz.yml", env, k)
		// A secret the input spells out itself may legitimately appear.
		leaked := func(out string, secrets []string) string {
			for _, s := range secrets {
				if strings.Contains(out, s) && !bytes.Contains(data, []byte(s)) {
					return s
				}
			}
			return ""
		}
		if err != nil {
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T %v is not a non-empty config.Errors", err, err)
			}
			for _, e := range errs {
				if e.Message == "" || e.Source != "fuzz.yml" {
					t.Fatalf("malformed error %#v", e)
				}
			}
			// No error quotes an expanded value, secret or not.
			if s := leaked(err.Error(), slices.Collect(maps.Values(testSecrets))); s != "" {
				t.Fatalf("error leaks secret %q:\n%v", s, err)
			}
			return
		}
		out, err := json.Marshal(cfg.Redacted())
		if err != nil {
			t.Fatal(err)
		}
		var summary strings.Builder
		cfg.WriteSummary(&summary)
		// What the config declares secret must not survive redaction.
		secrets := slices.Collect(maps.Values(cfg.Secrets))
		for _, tr := range cfg.Trackers {
			secrets = append(secrets, tr.WebhookSecret)
		}
		secrets = slices.DeleteFunc(secrets, func(s string) bool { return len(s) < config.MinScrubLen })
		if s := leaked(string(out)+summary.String(), secrets); s != "" {
			t.Fatalf("redacted output leaks secret %q", s)
		}
	})
}
