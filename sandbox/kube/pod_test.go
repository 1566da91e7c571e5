package kube_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestSandboxPodMatchesGoldenFile(t *testing.T) {
	cfg := loadConfig(t)
	for _, tc := range []struct {
		golden string
		spec   kube.Spec
	}{
		// The default: restricted profile, image by configured default,
		// the gate beside the toolchain, tokens from the pod's Secret,
		// resources and volume limits from the defaults.
		{"default", kube.Spec{RunID: runID, Attempt: 1, Fence: fence, Project: "todo", Repo: "api", Branch: "agent-smith/42"}},
		// A project that overrides image, agent version, resources, allows
		// CI changes and runs as root (the gate still does not).
		{"project-overrides", kube.Spec{RunID: runID, Attempt: 2, Fence: fence, Project: "heavy", Repo: "api", Branch: "agent-smith/42"}},
		// A repository name that is no DNS label: shortened with a hash.
		{"odd-repo-name", kube.Spec{RunID: runID, Attempt: 3, Fence: fence, Project: "todo", Repo: "Billing_Service.v2", Branch: "agent-smith/SHOP-12"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			pod, err := newBuilder(t).Pod(cfg, tc.spec)
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
	b := newBuilder(t)
	for _, tc := range []struct {
		name, project, repo, want string
	}{
		{"project override beats everything", "heavy", "tools", "ghcr.io/acme/heavy:2"},
		{"repo setting beats language", "todo", "tools", "ghcr.io/acme/tools-ci:7"},
		{"configured language picks the image", "todo", "web", "python:3.12-slim"},
		{"no language: generic image with git", "todo", "api", "buildpack-deps:bookworm-scm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod, err := b.Pod(cfg, kube.Spec{RunID: runID, Attempt: 1, Project: tc.project, Repo: tc.repo, Branch: "agent-smith/1"})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			NewWithT(t).Expect(container(pod, kube.MainContainer).Image).To(Equal(tc.want))
		})
	}
}

func TestSandboxPodNeverCarriesACredentialValue(t *testing.T) {
	g := NewWithT(t)
	cfg := loadConfig(t)
	b := newBuilder(t)
	spec := kube.Spec{RunID: runID, Attempt: 1, Project: "todo", Repo: "api", Branch: "agent-smith/42"}
	pod, err := b.Pod(cfg, spec)
	g.Expect(err).NotTo(HaveOccurred())
	text, err := yaml.Marshal(pod)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(text)).NotTo(Or(ContainSubstring("ghp_test0123456789"), ContainSubstring("REDIS"), ContainSubstring("GIT_TOKEN")))
	tokens := gateway.Tokens{Agent: "agent-token-of-the-job", Gate: "gate-token-of-the-job"}
	g.Expect(string(text)).NotTo(Or(ContainSubstring(tokens.Agent), ContainSubstring(tokens.Gate)))

	// Each process takes its own token, by reference, from the pod's own
	// Secret: the agent the agent's, the gate the gate's.
	secret := b.Secret(spec, tokens)
	g.Expect(secret.Name).To(Equal("sandbox-" + spec.JobID()))
	g.Expect(secret.Labels).To(Equal(pod.Labels))
	g.Expect(secret.OwnerReferences).To(Equal(pod.OwnerReferences))
	g.Expect(secret.Data).To(Equal(map[string][]byte{"agent-token": []byte(tokens.Agent), "gate-token": []byte(tokens.Gate)}))
	for name, key := range map[string]string{kube.MainContainer: kube.SecretAgentToken, kube.GateContainer: kube.SecretGateToken} {
		env := map[string]corev1.EnvVar{}
		for _, e := range container(pod, name).Env {
			env[e.Name] = e
		}
		g.Expect(env["SANDBOX_TOKEN"].ValueFrom.SecretKeyRef).To(Equal(&corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret.Name}, Key: key}), name)
		g.Expect(env["SANDBOX_API_URL"].Value).To(Equal("https://10.0.3.7:8443"))
		g.Expect(env["SANDBOX_API_CA"].Value).To(Equal(apiCert))
		g.Expect(env["JOB_ID"].Value).To(Equal(spec.JobID()))
	}
	g.Expect(container(pod, kube.InitContainer).Env).To(BeEmpty())
}

// The gate runs beside the toolchain for the pod's life (a native
// sidecar), under a uid of its own, is the only one to write the git
// volume, and reads the workspace; it pushes the run's branch of the
// configured remote, nothing else.
func TestTheGateIsANativeSidecarOfItsOwnUIDThatAloneWritesTheGitVolume(t *testing.T) {
	g := NewWithT(t)
	cfg := loadConfig(t)
	for _, project := range []string{"todo", "heavy"} {
		pod, err := newBuilder(t).Pod(cfg, kube.Spec{RunID: runID, Attempt: 1, Project: project, Repo: "api", Branch: "agent-smith/42"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pod.Spec.InitContainers).To(HaveLen(2))
		gate := pod.Spec.InitContainers[1]
		g.Expect(gate.Name).To(Equal(kube.GateContainer))
		g.Expect(*gate.RestartPolicy).To(Equal(corev1.ContainerRestartPolicyAlways))
		g.Expect(gate.Image).To(Equal(container(pod, kube.MainContainer).Image), "the toolchain image's git")
		g.Expect(gate.Args).To(ContainElements("--remote", "https://github.com/acme/api", "--branch", "agent-smith/42"))
		g.Expect(*gate.SecurityContext.RunAsUser).To(BeEquivalentTo(config.GateUID), project)
		g.Expect(*gate.SecurityContext.RunAsNonRoot).To(BeTrue(), project)
		g.Expect(*pod.Spec.ShareProcessNamespace).To(BeFalse())
		mounts := func(c corev1.Container) map[string]bool {
			rw := map[string]bool{}
			for _, m := range c.VolumeMounts {
				rw[m.Name] = !m.ReadOnly
			}
			return rw
		}
		g.Expect(mounts(gate)).To(Equal(map[string]bool{"shared": false, "git": true, "work": false}))
		g.Expect(mounts(container(pod, kube.MainContainer))).To(Equal(map[string]bool{"shared": false, "git": false, "work": true, "home": true}))
		ci := slices.Contains(gate.Args, "--allow-ci-config-changes")
		g.Expect(ci).To(Equal(project == "heavy"), "only the project that allows it may change CI configuration")
	}
}

// Every volume is bounded, the toolchain has ephemeral storage requests
// and limits, and the RuntimeClass is the configured one.
func TestVolumesAreBoundedAndTheRuntimeClassIsTheConfiguredOne(t *testing.T) {
	g := NewWithT(t)
	pod, err := newBuilder(t).Pod(loadConfig(t), kube.Spec{RunID: runID, Attempt: 1, Project: "heavy", Repo: "api", Branch: "agent-smith/42"})
	g.Expect(err).NotTo(HaveOccurred())
	limits := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		g.Expect(v.EmptyDir).NotTo(BeNil())
		limits[v.Name] = v.EmptyDir.SizeLimit.String()
	}
	g.Expect(limits).To(Equal(map[string]string{"shared": "256Mi", "work": "50Gi", "home": "50Gi", "git": "50Gi"}))
	res := container(pod, kube.MainContainer).Resources
	g.Expect(res.Requests.StorageEphemeral().String()).To(Equal("1Gi"))
	g.Expect(res.Limits.StorageEphemeral().String()).To(Equal("50Gi"))
	g.Expect(*pod.Spec.RuntimeClassName).To(Equal("gvisor"))
}

func TestSandboxPodIsRefusedWhenTheConfigCannotProduceIt(t *testing.T) {
	cfg := loadConfig(t)
	b := newBuilder(t)
	for _, tc := range []struct {
		name string
		spec kube.Spec
		want string
	}{
		{"repository not configured", kube.Spec{RunID: runID, Attempt: 1, Project: "todo", Repo: "gone", Branch: "b"}, "not in the configuration"},
		{"run id unusable in names", kube.Spec{RunID: "Run_1", Attempt: 1, Project: "todo", Repo: "api", Branch: "b"}, "unusable in a pod"},
		{"no attempt", kube.Spec{RunID: runID, Project: "todo", Repo: "api", Branch: "b"}, "unusable in a pod"},
		{"no branch", kube.Spec{RunID: runID, Attempt: 1, Project: "todo", Repo: "api"}, "unusable in a pod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Pod(cfg, tc.spec)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}

func TestBuilderRefusesIncompleteParams(t *testing.T) {
	g := NewWithT(t)
	_, err := kube.NewBuilder(kube.BuilderParams{APIURL: "http://10.0.3.7:8443"})
	g.Expect(err).To(MatchError(And(
		ContainSubstring("KUBERNETES_NAMESPACE"), ContainSubstring("POD_NAME, POD_UID"),
		ContainSubstring("image"), ContainSubstring("not an https URL with a certificate"),
	)))
}

func container(pod *corev1.Pod, name string) corev1.Container {
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		if c.Name == name {
			return c
		}
	}
	panic("no container " + name + " in pod " + pod.Name)
}
