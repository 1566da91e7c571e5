package connect

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/trackers"
)

const everyType = `
agents:
  replay: {type: scripted, script: s.yaml}
repos:
  gh: {type: github, url: https://github.com/acme/api, auth: token}
  gl: {type: gitlab, url: https://gitlab.example.com/acme/api, auth: token}
  ado: {type: azure_devops, url: https://dev.azure.com/acme/Platform/_git/Api, auth: token}
  plain: {type: git, url: /srv/git/api.git}
trackers:
  gh: {type: github, project: acme/api, auth: token, webhook_secret: s}
  gl: {type: gitlab, url: https://gitlab.example.com, project: acme/api, auth: token, webhook_secret: s}
  ado: {type: azure_devops, organization: acme, project: Platform, auth: token, webhook_secret: s}
  jira: {type: jira, url: https://acme.atlassian.net, project: API, email: bot@acme.example, auth: token, webhook_secret: s}
skills: {version: v3.0.1}
secrets: {token: t0ken}
projects:
  gh: {agent: replay, tracker: gh, repos: [gh]}
  gl: {agent: replay, tracker: gl, repos: [gl]}
  ado: {agent: replay, tracker: ado, repos: [ado]}
  jira: {agent: replay, tracker: jira, repos: [plain]}
`

func TestEveryTrackerAndHostTypeIsBuilt(t *testing.T) {
	g := NewWithT(t)
	cfg, err := config.Parse([]byte(everyType), "agentsmith.yml", nil, config.Kinds{Trackers: Kinds(), Providers: providers.Kinds()})
	g.Expect(err).NotTo(HaveOccurred())

	trs, err := Trackers(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	for name, want := range map[string]string{"gh": "github", "gl": "gitlab", "ado": "azure_devops", "jira": "jira"} {
		g.Expect(trs).To(HaveKey(name))
		g.Expect(trs[name].Name()).To(Equal(name))
		g.Expect(trs[name].Type()).To(Equal(want))
		_, learns := trs[name].(trackers.Self)
		g.Expect(learns).To(BeTrue(), "%s learns its own account, so its comments are told from people's", name)
	}
	for _, repo := range []string{"gh", "gl", "ado"} {
		h, err := RepoHost(cfg, repo)
		g.Expect(err).NotTo(HaveOccurred(), repo)
		g.Expect(h.CloneURL()).NotTo(BeEmpty())
	}
	_, err = RepoHost(cfg, "plain")
	g.Expect(errors.Is(err, trackers.ErrNoHost)).To(BeTrue())
	_, err = Tracker(cfg, "nope")
	g.Expect(err).To(MatchError(ContainSubstring(`tracker "nope"`)))
}
