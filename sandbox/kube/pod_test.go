package kube_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/agent-smith/agent-smith/sandbox/kube"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestSandboxPodMatchesGoldenFile(t *testing.T) {
	cfg := loadConfig(t)
	for _, tc := range []struct {
		golden   string
		redisURL string
		spec     kube.Spec
	}{
		// The default: restricted profile, image by configured default,
		// the token by secretKeyRef, resources from the defaults.
		{"default", "redis://agent-smith-redis:6379", kube.Spec{RunID: runID, Attempt: 1, Fence: fence, Project: "todo", Repo: "api"}},
		// A project that overrides image, agent version, resources and
		// runs as root.
		{"project-overrides", "redis://agent-smith-redis:6379", kube.Spec{RunID: runID, Attempt: 2, Fence: fence, Project: "heavy", Repo: "api"}},
		// A Redis URL with a password is read from the Secret.
		{"redis-password", "redis://:s3cret@agent-smith-redis:6379/0", kube.Spec{RunID: runID, Attempt: 1, Fence: fence, Project: "todo", Repo: "docs"}},
		// A repository name that is no DNS label: shortened with a hash.
		{"odd-repo-name", "redis://agent-smith-redis:6379", kube.Spec{RunID: runID, Attempt: 3, Fence: fence, Project: "todo", Repo: "Billing_Service.v2"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			pod, err := newBuilder(t, tc.redisURL).Pod(cfg, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := yaml.Marshal(pod)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.golden+".yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("pod differs from %s (run with -update after checking the change):\n--- got\n%s", path, got)
			}
		})
	}
}

func TestToolchainImageComesFromProjectThenRepoThenLanguageThenDefault(t *testing.T) {
	cfg := loadConfig(t)
	b := newBuilder(t, "redis://redis:6379")
	for _, tc := range []struct {
		name, project, repo, want string
	}{
		{"project override beats everything", "heavy", "tools", "ghcr.io/acme/heavy:2"},
		{"repo setting beats language", "todo", "tools", "ghcr.io/acme/tools-ci:7"},
		{"configured language picks the image", "todo", "web", "python:3.12-slim"},
		{"no language: generic image with git", "todo", "api", "buildpack-deps:bookworm-scm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod, err := b.Pod(cfg, kube.Spec{RunID: runID, Attempt: 1, Project: tc.project, Repo: tc.repo})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			NewWithT(t).Expect(container(pod, kube.MainContainer).Image).To(Equal(tc.want))
		})
	}
}

func TestSandboxPodNeverCarriesACredentialValue(t *testing.T) {
	g := NewWithT(t)
	cfg := loadConfig(t)
	pod, err := newBuilder(t, "redis://:s3cret-pw@redis:6379").Pod(cfg, kube.Spec{RunID: runID, Attempt: 1, Project: "todo", Repo: "api"})
	g.Expect(err).NotTo(HaveOccurred())
	text, err := yaml.Marshal(pod)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(text)).NotTo(ContainSubstring("ghp_test0123456789"))
	g.Expect(string(text)).NotTo(ContainSubstring("s3cret-pw"))
	env := map[string]corev1.EnvVar{}
	for _, e := range container(pod, kube.MainContainer).Env {
		env[e.Name] = e
	}
	g.Expect(env[kube.EnvGitToken].ValueFrom.SecretKeyRef.Name).To(Equal("agent-smith-secrets"))
	g.Expect(env[kube.EnvGitToken].ValueFrom.SecretKeyRef.Key).To(Equal("GITHUB_TOKEN"))
	g.Expect(env["REDIS_URL"].ValueFrom.SecretKeyRef.Key).To(Equal("REDIS_URL"))
}

func TestSandboxPodIsRefusedWhenTheConfigCannotProduceIt(t *testing.T) {
	cfg := loadConfig(t)
	b := newBuilder(t, "redis://redis:6379")
	for _, tc := range []struct {
		name string
		spec kube.Spec
		want string
	}{
		{"repository not configured", kube.Spec{RunID: runID, Attempt: 1, Project: "todo", Repo: "gone"}, "not in the configuration"},
		{"credential not from the environment", kube.Spec{RunID: runID, Attempt: 1, Project: "todo", Repo: "legacy"}, `secret "inline_token" is not written as ${VAR}`},
		{"run id unusable in names", kube.Spec{RunID: "Run_1", Attempt: 1, Project: "todo", Repo: "api"}, "unusable in a pod"},
		{"no attempt", kube.Spec{RunID: runID, Project: "todo", Repo: "api"}, "unusable in a pod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Pod(cfg, tc.spec)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}

func TestRepositoryWithoutAuthGetsNoToken(t *testing.T) {
	g := NewWithT(t)
	pod, err := newBuilder(t, "redis://redis:6379").Pod(loadConfig(t), kube.Spec{RunID: runID, Attempt: 1, Project: "todo", Repo: "docs"})
	g.Expect(err).NotTo(HaveOccurred())
	for _, e := range container(pod, kube.MainContainer).Env {
		g.Expect(e.Name).NotTo(Equal(kube.EnvGitToken))
	}
}

func TestBuilderRefusesIncompleteParams(t *testing.T) {
	g := NewWithT(t)
	_, err := kube.NewBuilder(kube.BuilderParams{RedisURL: "redis://:pw@:6379"})
	g.Expect(err).To(MatchError(And(
		ContainSubstring("KUBERNETES_NAMESPACE"), ContainSubstring("POD_NAME, POD_UID"),
		ContainSubstring("image"), ContainSubstring("REDIS_URL"),
	)))
	g.Expect(err.Error()).NotTo(ContainSubstring("pw"), "the URL's password stays out of the error")
}

func container(pod *corev1.Pod, name string) corev1.Container {
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		if c.Name == name {
			return c
		}
	}
	panic("no container " + name + " in pod " + pod.Name)
}
