package examples

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/cli"
)

// overlays are the example directories that are Kustomize overlays: each
// has its agentsmith.yml and a secrets.env template.
func overlays(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*/kustomization.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("example overlays: %v, %v", files, err)
	}
	dirs := make([]string, 0, len(files))
	for _, f := range files {
		dirs = append(dirs, filepath.Dir(f))
	}
	return dirs
}

// secretKeys are the keys of a secrets.env template, in order.
func secretKeys(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "secrets.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || value != "..." {
			t.Fatalf("%s/secrets.env: %q is not a KEY=... placeholder", dir, line)
		}
		keys = append(keys, key)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// validate runs `agent-smith config validate -c dir/agentsmith.yml` with
// env as the whole environment.
func validate(dir string, env map[string]string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = cli.Main(context.Background(), []string{"config", "validate", "-c", filepath.Join(dir, "agentsmith.yml")},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// Each overlay's agentsmith.yml passes `agent-smith config validate` with
// its Secret's keys set, and without warnings.
func TestEveryOverlayConfigValidatesWithItsSecret(t *testing.T) {
	for _, dir := range overlays(t) {
		t.Run(dir, func(t *testing.T) {
			g := NewWithT(t)
			env := map[string]string{}
			for _, k := range secretKeys(t, dir) {
				env[k] = "dummy-" + strings.ToLower(k)
			}
			g.Expect(env).To(HaveKey("REDIS_PASSWORD"), "the base's Redis and orchestrator need it")
			stdout, stderr, err := validate(dir, env)
			g.Expect(err).NotTo(HaveOccurred(), stderr)
			g.Expect(stderr).To(BeEmpty())
			g.Expect(stdout).NotTo(BeEmpty(), "a valid config is summarised")
		})
	}
}

// The Secret templates hold what their config needs and nothing more: the
// config refuses to load without any one of their keys (but Redis'
// password, which is the manifests').
func TestEveryOverlaySecretKeyIsNeeded(t *testing.T) {
	for _, dir := range overlays(t) {
		keys := secretKeys(t, dir)
		for _, missing := range keys {
			if missing == "REDIS_PASSWORD" {
				continue
			}
			t.Run(dir+"/"+missing, func(t *testing.T) {
				env := map[string]string{}
				for _, k := range keys {
					if k != missing {
						env[k] = "dummy"
					}
				}
				_, stderr, err := validate(dir, env)
				NewWithT(t).Expect(err).To(HaveOccurred())
				NewWithT(t).Expect(stderr).To(ContainSubstring(missing))
			})
		}
	}
}

// The TodoList overlay is the seed's example, which the config tests and
// the base's ConfigMap also hold.
func TestTheTodoListOverlayIsTheSeedsConfig(t *testing.T) {
	g := NewWithT(t)
	got, err := os.ReadFile(filepath.Join("azure-devops-todolist", "agentsmith.yml"))
	g.Expect(err).NotTo(HaveOccurred())
	want, err := os.ReadFile(filepath.Join("..", "config", "testdata", "todolist.yml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(got)).To(Equal(string(want)), "examples/azure-devops-todolist and config/testdata/todolist.yml drifted apart")
}

// The laptop example validates with nothing exported but the webhook
// secret, which make run makes up when it is not set.
func TestTheLocalExampleValidatesWithWhatMakeRunSets(t *testing.T) {
	g := NewWithT(t)
	_, stderr, err := validate("local", map[string]string{"GITHUB_WEBHOOK_SECRET": "made-up"})
	g.Expect(err).NotTo(HaveOccurred(), stderr)
}

// The GitHub overlay's comment tells how to comment as a GitHub App: that
// variant validates too, with the App's key in the Secret.
func TestTheGitHubOverlaysAppVariantValidates(t *testing.T) {
	g := NewWithT(t)
	data, err := os.ReadFile(filepath.Join("github", "agentsmith.yml"))
	g.Expect(err).NotTo(HaveOccurred())
	doc := string(data)
	tracker := "    auth: github_token\n    webhook_secret:"
	g.Expect(strings.Count(doc, tracker)).To(Equal(1), "the tracker's auth line")
	g.Expect(doc).To(ContainSubstring("#   app: {app_id: 123456, installation_id: 7890123, private_key_secret: github_app_key}"))
	doc = strings.Replace(doc, tracker,
		"    app: {app_id: 123456, installation_id: 7890123, private_key_secret: github_app_key}\n    webhook_secret:", 1)
	doc += "  github_app_key: ${GITHUB_APP_PRIVATE_KEY}\n"
	g.Expect(strings.HasSuffix(string(data), "openai_api_key: ${OPENAI_API_KEY}\n")).To(BeTrue(), "secrets is the last block")

	dir := t.TempDir()
	g.Expect(os.WriteFile(filepath.Join(dir, "agentsmith.yml"), []byte(doc), 0o600)).To(Succeed())
	env := map[string]string{"GITHUB_APP_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----"}
	for _, k := range secretKeys(t, "github") {
		env[k] = "dummy"
	}
	_, stderr, err := validate(dir, env)
	g.Expect(err).NotTo(HaveOccurred(), stderr)
}
