package cli

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
)

func TestSandboxBackendComesFromFlagEnvironmentOrCluster(t *testing.T) {
	cases := []struct {
		name, flag string
		env        map[string]string
		want, err  string
	}{
		{"default outside a cluster", "", nil, sandboxLocal, ""},
		{"default inside a cluster", "", map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, sandboxKubernetes, ""},
		{"SANDBOX_TYPE wins over the cluster", "", map[string]string{"SANDBOX_TYPE": "local", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}, sandboxLocal, ""},
		{"the flag wins over SANDBOX_TYPE", "kubernetes", map[string]string{"SANDBOX_TYPE": "local"}, sandboxKubernetes, ""},
		{"unknown", "docker", nil, "", `"docker": want local or kubernetes`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := sandboxBackend(tc.flag, envFrom(tc.env))
			if tc.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestTrackersAreSharedForTheConfigInForceOnly(t *testing.T) {
	g := NewWithT(t)
	load := func() *config.Config {
		cfg, err := config.Parse([]byte(`
agents: {replay: {type: scripted, script: s.yaml}}
repos: {calc: {type: github, url: "https://github.com/acme/calc", auth: gh}}
trackers: {issues: {type: github, project: acme/calc, auth: gh}}
projects: {calc: {agent: replay, tracker: issues, repos: [calc]}}
skills: {source: default, version: v3.0.1}
secrets: {gh: token}
`), "t.yml", nil, configKinds())
		g.Expect(err).NotTo(HaveOccurred())
		return cfg
	}
	current, older := load(), load()
	c := &trackerCache{current: func() *config.Config { return current }}
	a, err := c.get(current, "issues")
	g.Expect(err).NotTo(HaveOccurred())
	b, err := c.get(current, "issues")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(b).To(BeIdenticalTo(a), "runs on the config in force share its tracker")
	old, err := c.get(older, "issues")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(old).NotTo(BeIdenticalTo(a), "a run on an older config gets a tracker of that config")
	_, err = c.get(current, "nope")
	g.Expect(err).To(MatchError(ContainSubstring("nope")))
}

func TestRunsDirFallsBackWhenTheVolumeIsMissing(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir() + "/runs"
	g.Expect(runsDirFor(dir)).To(Equal(dir))
	g.Expect(runsDirFor("/proc/agent-smith/runs")).To(HaveSuffix("agent-smith/runs"))
	g.Expect(runsDirFor("/proc/agent-smith/runs")).NotTo(HavePrefix("/proc"))
}
