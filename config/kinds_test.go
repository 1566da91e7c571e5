package config_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers/github"
	"github.com/agent-smith/agent-smith/trackers/jira"
)

func TestTriggerBlockAndItsAliasReadAlike(t *testing.T) {
	g := NewWithT(t)
	block := `      project_resolution: {strategy: tag, value: web}
      pipeline_from_label: {feature: add-feature}
      done_status: closed
`
	generic := mustParse(t, baseDoc+webProject+"    trigger:\n"+block)
	aliased := mustParse(t, baseDoc+webProject+"    github_trigger:\n"+block)
	g.Expect(generic.Projects["web"].Trigger()).To(Equal(aliased.Projects["web"].Trigger()))
	g.Expect(generic.Projects["web"].Trigger().DoneStatus).To(Equal("closed"))

	out, err := json.Marshal(aliased.Redacted())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(out)).To(ContainSubstring(`"trigger":{"project_resolution":{"strategy":"tag","value":"web"}`),
		"the resolved config names the block by its one key")
	g.Expect(string(out)).NotTo(ContainSubstring("github_trigger"))
}

func TestTypeSettingsArePrintedInTheirBlockAndDeepCopied(t *testing.T) {
	g := NewWithT(t)
	env := envWith(map[string]string{"GITHUB_APP_PRIVATE_KEY": "-----BEGIN KEY-----", "GITLAB_TOKEN": "glpat-123456", "JIRA_TOKEN": "jira-123456"})
	app, err := config.Load("testdata/github-app.yml", env, kinds())
	g.Expect(err).NotTo(HaveOccurred())
	jiraCfg, err := config.Load("testdata/jira-gitlab.yml", env, kinds())
	g.Expect(err).NotTo(HaveOccurred())

	var printed strings.Builder
	for _, cfg := range []*config.Config{app, jiraCfg} {
		out, err := json.Marshal(cfg.Redacted())
		g.Expect(err).NotTo(HaveOccurred())
		printed.Write(out)
	}
	for _, want := range []string{
		`"app":{"app_id":123456,"installation_id":7890123,"private_key_secret":"github_app_key"}`,
		`"email":"agent-smith@acme.example","close_transition_name":"Resolve","agent_user":"Agent Smith"`,
		`"assignee_name":"Agent Smith"`,
		`"script":"/etc/agent-smith/scripts/fix-bug.json"`,
		`"endpoint":"http://localhost:11434"`,
	} {
		g.Expect(printed.String()).To(ContainSubstring(want))
	}

	red := app.Redacted()
	red.Trackers["shop"].Settings.(*github.Settings).App.AppID = 1
	g.Expect(app.Trackers["shop"].Settings.(*github.Settings).App.AppID).To(Equal(int64(123456)), "the redacted copy has its own settings")
	trig := jiraCfg.Projects["todo"].Trigger()
	g.Expect(trig.Settings).To(Equal(&jira.TriggerSettings{AssigneeName: "Agent Smith"}), "assignee_name defaults to the tracker's agent_user")

	var summary strings.Builder
	app.WriteSummary(&summary)
	g.Expect(summary.String()).To(ContainSubstring("script /etc/agent-smith/scripts/fix-bug.json"))
}

// A block whose type is unknown gets one error, on its type; its other
// keys are not judged against a type it does not have.
func TestUnknownTypeIsOneErrorWithoutFollowUps(t *testing.T) {
	g := NewWithT(t)
	doc := catalog("  gpt:\n    type: open_ai\n    model: gpt-4.1\n    deployment: prod\n", "",
		"  boards:\n    type: jiraa\n    project: API\n    auth: github_token\n    email: bot@acme.example\n")
	errs := parseErrors(t, doc+webProject+"    jira_trigger: {assignee_name: bot}\n", envWith(nil))
	var paths []string
	for _, e := range errs {
		paths = append(paths, e.Path+": "+e.Message)
	}
	g.Expect(paths).To(ConsistOf(
		`agents.gpt.type: unknown value "open_ai" (did you mean "openai"?)`,
		`trackers.boards.type: unknown value "jiraa" (did you mean "jira"?)`,
		`projects.web.jira_trigger: tracker "issues" is of type github; its projects take github_trigger or trigger`,
	))
}

// noted is a provider type whose settings warn about their own key and
// describe the agent's slots.
type noted struct {
	Notes map[string]string `json:"notes"`
}

func (*noted) Default(config.Block, *config.Agent) {}

func (n *noted) Validate(b config.Block, _ *config.Agent) {
	for name, note := range n.Notes {
		// Said twice, recorded once.
		b.Entry("notes", name).Warn("", "note %s", note)
		b.Entry("notes", name).Warn("", "note %s", note)
	}
	b.Warn("model", "the model is a test double")
}

func (*noted) DescribeSlot(a *config.Agent, slot string) string {
	switch slot {
	case "summarization":
		return ""
	case "review":
		return "reviews with " + a.Models.Review.Model
	}
	return "works with " + a.Model
}

// A kind's warnings keep the config loading and come in file order with
// their path and line; its slot lines join the summary, one line for the
// slots it describes alike.
func TestKindsWarnAndDescribeTheirSlots(t *testing.T) {
	g := NewWithT(t)
	doc := `agents:
  main:
    type: noted
    model: m1 # model
    models:
      review: {model: m2}
    notes:
      v1.2: first # v1.2
      b: second # b
repos:
  api: {type: github, url: "https://github.com/acme/api", auth: github_token}
trackers:
  issues: {type: github, project: acme/api, auth: github_token}
projects:
  web: {agent: main, tracker: issues, repos: [api]}
skills: {version: v3.0.1}
secrets:
  github_token: ${GITHUB_TOKEN}
`
	kinds := config.Kinds{Trackers: kinds().Trackers, Providers: map[string]config.ProviderKind{"noted": {Settings: func() config.AgentSettings { return &noted{} }}}}
	cfg, err := config.Parse([]byte(doc), "agentsmith.yml", envWith(nil), kinds)
	g.Expect(err).NotTo(HaveOccurred())
	var warnings []string
	for _, w := range cfg.Warnings {
		warnings = append(warnings, w.Error())
	}
	g.Expect(warnings).To(Equal([]string{
		"agentsmith.yml:" + itoa(lineOf(t, doc, "# model")) + ": agents.main.model: the model is a test double",
		"agentsmith.yml:" + itoa(lineOf(t, doc, "# v1.2")) + `: agents.main.notes["v1.2"]: note first`,
		"agentsmith.yml:" + itoa(lineOf(t, doc, "# b")) + ": agents.main.notes.b: note second",
	}))

	var summary strings.Builder
	cfg.WriteSummary(&summary)
	g.Expect(summary.String()).To(HaveSuffix("agents (1)\n" +
		"  main  noted        m1\n" +
		"        planning, execution  works with m1\n" +
		"        review               reviews with m2\n"))
}

func itoa(n int) string { return strconv.Itoa(n) }
