package trackers_test

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

const resolveYAML = `
agents:
  replay: {type: scripted, script: /etc/agent-smith/fix-bug.json}
repos:
  shop-api: {type: github, url: "https://github.com/acme/shop-api", auth: gh}
  shop-web: {type: github, url: "https://github.com/acme/shop-web", auth: gh}
  portal:   {type: azure_devops, url: "https://dev.azure.com/acme/Portal/_git/portal", auth: ado}
trackers:
  shop:
    type: github
    project: acme/shop
    auth: gh
    webhook_secret: s3cret
    trigger_labels: [agent-smith, ai-fix]
  api-issues:
    type: github
    project: acme/shop-api
    auth: gh
    trigger_labels: [agent-smith]
  boards:
    type: azure_devops
    organization: acme
    project: Portal
    auth: ado
    trigger_labels: [agent-smith]
pipeline_triggers:
  bug: fix-bug
  feature: add-feature
  docs: fix-no-test
projects:
  shop:
    agent: replay
    tracker: shop
    repos: [shop-api, shop-web]
    pipeline_from_label: {refactor: fix-no-test}
    github_trigger:
      project_resolution: {strategy: tag, value: Shop}
      pipeline_from_label: {enhancement: add-feature, bug: fix-no-test}
      done_status: closed
  shop-frontend:
    agent: replay
    tracker: shop
    repos: [shop-web]
    github_trigger:
      project_resolution: {strategy: tag, value: frontend}
      trigger_statuses: [open]
      comment_keyword: /frontend
  api:
    agent: replay
    tracker: api-issues
    repos: [shop-api]
    default_pipeline: add-feature
    github_trigger:
      project_resolution: {strategy: repo}
  portal-billing:
    agent: replay
    tracker: boards
    repos: [portal]
    azuredevops_trigger:
      project_resolution: {strategy: area_path, value: 'Portal\Billing'}
      trigger_statuses: [Active]
skills: {source: path, path: /srv/skills}
secrets: {gh: token, ado: token}
`

func resolveConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(resolveYAML), "resolve_test.yml", nil,
		config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func labeled(labels ...string) trackers.Event {
	return trackers.Event{Kind: trackers.EventTicket, Trigger: "label added", Ticket: trackers.Ticket{ID: "7", State: "open", Labels: labels}}
}

func comment(body string, trusted bool, labels ...string) trackers.Event {
	return trackers.Event{Kind: trackers.EventComment, Ticket: trackers.Ticket{ID: "7", State: "open", Labels: labels},
		Comment: &trackers.Comment{Author: "carol", Body: body, Trusted: trusted}}
}

func TestResolveMatchesProjectsAndPipelines(t *testing.T) {
	cfg := resolveConfig(t)
	shop := func(pipeline string) trackers.Match {
		return trackers.Match{Project: "shop", Pipeline: pipeline, Repos: []string{"shop-api", "shop-web"}, DoneStatus: "closed"}
	}
	frontend := func(pipeline string) trackers.Match {
		return trackers.Match{Project: "shop-frontend", Pipeline: pipeline, Repos: []string{"shop-web"}}
	}
	cases := []struct {
		name    string
		tracker string
		ev      trackers.Event
		want    []trackers.Match
		reason  string
	}{
		{"tag matches case-insensitively, default pipeline", "shop", labeled("agent-smith", "shop"), []trackers.Match{shop("fix-bug")}, ""},
		{"trigger's label map", "shop", labeled("agent-smith", "Shop", "Enhancement"), []trackers.Match{shop("add-feature")}, ""},
		{"trigger's map wins over the global one", "shop", labeled("agent-smith", "shop", "bug"), []trackers.Match{shop("fix-no-test")}, ""},
		{"alphabetically first mapped label wins", "shop", labeled("shop", "enhancement", "bug"), []trackers.Match{shop("fix-no-test")}, ""},
		{"project's map after the trigger's", "shop", labeled("shop", "refactor"), []trackers.Match{shop("fix-no-test")}, ""},
		{"global map last", "shop", labeled("shop", "feature"), []trackers.Match{shop("add-feature")}, ""},
		{"two projects match: one run each", "shop", labeled("agent-smith", "shop", "frontend"), []trackers.Match{shop("fix-bug"), frontend("fix-bug")}, ""},
		{"no project's tag", "shop", labeled("agent-smith", "backend"), nil,
			`no project matches (shop: no label "Shop"; shop-frontend: no label "frontend")`},
		{"lifecycle labels match nothing", "shop", labeled("agent-smith", "agent-smith:queued"), nil,
			`no project matches (shop: no label "Shop"; shop-frontend: no label "frontend")`},
		{"trigger_statuses gate", "shop", trackers.Event{Kind: trackers.EventTicket, Trigger: "label added", Ticket: trackers.Ticket{State: "closed", Labels: []string{"frontend"}}}, nil,
			`no project matches (shop: no label "Shop"; shop-frontend: state "closed" is not one of trigger_statuses open)`},
		{"repo strategy: same repository, URL normalized", "api-issues",
			trackers.Event{Kind: trackers.EventTicket, Trigger: "opened", Ticket: trackers.Ticket{State: "open", Repo: "https://GitHub.com/acme/shop-api.git/"}},
			[]trackers.Match{{Project: "api", Pipeline: "add-feature", Repos: []string{"shop-api"}}}, ""},
		{"repo strategy: scp-style URL", "api-issues",
			trackers.Event{Kind: trackers.EventTicket, Trigger: "opened", Ticket: trackers.Ticket{State: "open", Repo: "git@github.com:acme/shop-api.git"}},
			[]trackers.Match{{Project: "api", Pipeline: "add-feature", Repos: []string{"shop-api"}}}, ""},
		{"repo strategy: another repository", "api-issues",
			trackers.Event{Kind: trackers.EventTicket, Trigger: "opened", Ticket: trackers.Ticket{State: "open", Repo: "https://github.com/acme/shop-web"}}, nil,
			"no project matches (api: ticket is not in repo shop-api)"},
		{"area path: equal, other separator and case", "boards",
			trackers.Event{Kind: trackers.EventTicket, Trigger: "state Active", Ticket: trackers.Ticket{State: "Active", AreaPath: "portal/billing"}},
			[]trackers.Match{{Project: "portal-billing", Pipeline: "fix-bug", Repos: []string{"portal"}}}, ""},
		{"area path: below", "boards",
			trackers.Event{Kind: trackers.EventTicket, Trigger: "state Active", Ticket: trackers.Ticket{State: "Active", AreaPath: `Portal\Billing\Invoices`}},
			[]trackers.Match{{Project: "portal-billing", Pipeline: "fix-bug", Repos: []string{"portal"}}}, ""},
		{"area path: sibling with the same prefix", "boards",
			trackers.Event{Kind: trackers.EventTicket, Trigger: "state Active", Ticket: trackers.Ticket{State: "Active", AreaPath: `Portal\BillingOld`}}, nil,
			`no project matches (portal-billing: area path "Portal\\BillingOld" is not under "Portal\\Billing")`},
		{"ignored event", "shop", trackers.Event{Kind: trackers.EventTicket, Ignore: "action closed is not work", Ticket: trackers.Ticket{Labels: []string{"shop"}}}, nil,
			"action closed is not work"},
		{"nothing triggering changed", "shop", trackers.Event{Kind: trackers.EventTicket, Ticket: trackers.Ticket{Labels: []string{"agent-smith", "shop"}}}, nil,
			"nothing triggering changed"},
		{"ping", "shop", trackers.Event{Kind: trackers.EventPing}, nil, "ping"},
		{"trusted keyword comment", "shop", comment("Thanks!\n/agent-smith", true, "shop"), []trackers.Match{shop("fix-bug")}, ""},
		{"keyword argument names the pipeline", "shop", comment("/agent-smith add-feature please", true, "shop", "bug"), []trackers.Match{shop("add-feature")}, ""},
		{"keyword argument that is no pipeline", "shop", comment("/agent-smith please", true, "shop", "bug"), []trackers.Match{shop("fix-no-test")}, ""},
		{"each project its own keyword", "shop", comment("/frontend fix-bug", true, "shop", "frontend"), []trackers.Match{frontend("fix-bug")}, ""},
		{"untrusted author", "shop", comment("/agent-smith fix-bug", false, "shop"), nil,
			"comment author carol may not instruct agent-smith (no write access)"},
		{"agent-smith's own comment, even by a trusted account", "shop",
			trackers.Event{Kind: trackers.EventComment, Ticket: trackers.Ticket{ID: "7", State: "open", Labels: []string{"shop"}},
				Comment: &trackers.Comment{Author: "smith", Body: "/agent-smith fix-bug", Trusted: true, Own: true}}, nil,
			"comment is agent-smith's own"},
		{"keyword not at a line start", "shop", comment("please run /agent-smith", true, "shop"), nil,
			`no project matches (shop: comment has no /agent-smith command; shop-frontend: no label "frontend")`},
		{"keyword in a quote", "shop", comment("> /agent-smith fix-bug\nno, don't", true, "shop"), nil,
			`no project matches (shop: comment has no /agent-smith command; shop-frontend: no label "frontend")`},
		{"unknown tracker", "nope", labeled("shop"), nil, "unknown tracker nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := trackers.Resolve(cfg, tc.tracker, tc.ev)
			g.Expect(got.Matches).To(Equal(tc.want))
			g.Expect(got.Reason).To(Equal(tc.reason))
		})
	}
}

func TestResolveTicketNeedsATriggerLabel(t *testing.T) {
	cfg := resolveConfig(t)
	cases := []struct {
		name   string
		labels []string
		want   []string
		reason string
	}{
		{"trigger label and tag", []string{"AI-Fix", "shop"}, []string{"shop"}, ""},
		{"tag without trigger label", []string{"shop"}, nil, "ticket has none of the trigger labels agent-smith, ai-fix"},
		{"a lifecycle label is not a trigger", []string{"agent-smith:done", "shop"}, nil, "ticket has none of the trigger labels agent-smith, ai-fix"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := trackers.ResolveTicket(cfg, "shop", trackers.Ticket{ID: "1", State: "open", Labels: tc.labels})
			var projects []string
			for _, m := range got.Matches {
				projects = append(projects, m.Project)
			}
			g.Expect(projects).To(Equal(tc.want))
			g.Expect(got.Reason).To(Equal(tc.reason))
		})
	}
}

// TestShippedJiraGitLabExampleStartsRuns: the example configuration of a
// Jira tracker with code on GitLab takes the issues its poll lists and
// the ones assigned to agent-smith, when they carry its label.
func TestShippedJiraGitLabExampleStartsRuns(t *testing.T) {
	g := NewWithT(t)
	env := map[string]string{"GITLAB_TOKEN": "glpat-123456", "JIRA_TOKEN": "jira-123456"}
	cfg, err := config.Load("../config/testdata/jira-gitlab.yml", func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	g.Expect(err).NotTo(HaveOccurred())
	todo := []trackers.Match{{Project: "todo", Pipeline: "fix-bug", Repos: []string{"todo"}, DoneStatus: "In Review"}}

	polled := trackers.ResolveTicket(cfg, "jira", trackers.Ticket{ID: "TODO-7", State: "To Do", Labels: []string{"todo"}})
	g.Expect(polled.Matches).To(Equal(todo))
	assigned := trackers.Resolve(cfg, "jira", trackers.Event{Kind: trackers.EventTicket, Trigger: "assigned to Agent Smith",
		Ticket: trackers.Ticket{ID: "TODO-8", State: "To Do", Labels: []string{"todo"}}})
	g.Expect(assigned.Matches).To(Equal(todo))
	unlabelled := trackers.Resolve(cfg, "jira", trackers.Event{Kind: trackers.EventTicket, Trigger: "assigned to Agent Smith",
		Ticket: trackers.Ticket{ID: "TODO-9", State: "To Do"}})
	g.Expect(unlabelled.Reason).To(Equal(`no project matches (todo: no label "todo")`))
}
