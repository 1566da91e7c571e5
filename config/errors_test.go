package config_test

import (
	"cmp"
	"errors"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/agent-smith/agent-smith/config"
)

// Each case appends blocks to baseDoc and expects, among the errors, one at
// path on the line marked "# <-" whose message contains msg.
func TestInvalidConfigReportsPathLineAndReason(t *testing.T) {
	cases := []struct {
		name   string
		agents string // extra entries of the agents block
		repos  string // extra entries of the repos block
		tracks string // extra entries of the trackers block
		blocks string // blocks appended to the document
		env    map[string]string
		mark   string // text on the expected line; default "# <-"
		path   string
		msg    string
	}{
		{
			name: "unknown key suggests the nearest known key",
			blocks: `projects:
  web:
    agent: claude
    tracker: issues
    repo: [api] # <-
`,
			path: "projects.web.repo",
			msg:  `unknown key (did you mean "repos"?)`,
		},
		{
			name:   "misspelt key in a fixed block",
			blocks: webProject + "sandbox:\n  agent_registy: acme # <-\n",
			path:   "sandbox.agent_registy",
			msg:    `unknown key (did you mean "agent_registry"?)`,
		},
		{
			name:   "agent_version that is no image tag",
			blocks: webProject + "sandbox:\n  agent_version: 1.2 beta # <-\n",
			path:   "sandbox.agent_version",
			msg:    `"1.2 beta" is not an image tag`,
		},
		{
			name:   "orchestrator.registry with a scheme",
			blocks: webProject + "orchestrator:\n  registry: https://ghcr.io/acme # <-\n",
			path:   "orchestrator.registry",
			msg:    `"https://ghcr.io/acme" is not a registry such as ghcr.io/acme`,
		},
		{
			name: "project agent_registry with a tag",
			blocks: webProject + `    sandbox:
      agent_registry: ghcr.io/acme@sha256 # <-
`,
			path: "projects.web.sandbox.agent_registry",
			msg:  `"ghcr.io/acme@sha256" is not a registry`,
		},
		{
			name:   "wrong scalar type",
			blocks: webProject + "queue:\n  max_parallel_jobs: four # <-\n",
			path:   "queue.max_parallel_jobs",
			msg:    `want an integer, got "four"`,
		},
		{
			name: "list where a mapping belongs",
			blocks: `projects:
  web:
    agent: claude
    tracker: issues
    repos: api # <-
`,
			path: "projects.web.repos",
			msg:  `want a list, got "api"`,
		},
		{
			name: "missing required key is placed on its block",
			blocks: webProject + `  other: # <-
    agent: claude
    repos: [api]
`,
			path: "projects.other.tracker",
			msg:  "is required",
		},
		{
			name: "undefined agent",
			blocks: `projects:
  web:
    agent: claud # <-
    tracker: issues
    repos: [api]
`,
			path: "projects.web.agent",
			msg:  `agent "claud" is not defined (did you mean "claude"?)`,
		},
		{
			name: "undefined tracker",
			blocks: `projects:
  web:
    agent: claude
    tracker: jira-cloud # <-
    repos: [api]
`,
			path: "projects.web.tracker",
			msg:  `tracker "jira-cloud" is not defined (defined: issues)`,
		},
		{
			name: "undefined repo",
			blocks: `projects:
  web:
    agent: claude
    tracker: issues
    repos:
      - api
      - worker # <-
`,
			path: "projects.web.repos[1]",
			msg:  `repo "worker" is not defined`,
		},
		{
			name: "undefined secret",
			repos: `  lab:
    type: gitlab
    url: https://gitlab.example.com/acme/lab
    auth: gitlab_token # <-
`,
			blocks: webProject,
			path:   "repos.lab.auth",
			msg:    `secret "gitlab_token" is not defined`,
		},
		{
			name: "trigger block that does not fit the tracker type",
			blocks: webProject + `    azuredevops_trigger: # <-
      project_resolution: {strategy: tag, value: web}
`,
			path: "projects.web.azuredevops_trigger",
			msg:  `tracker "issues" is of type github; its projects take github_trigger`,
		},
		{
			name: "area_path resolution outside Azure DevOps",
			blocks: webProject + `    github_trigger:
      project_resolution:
        strategy: area_path # <-
        value: Platform
`,
			path: "projects.web.github_trigger.project_resolution.strategy",
			msg:  "area_path only applies to azure_devops trackers",
		},
		{
			name: "repo resolution needs a single repo",
			blocks: `projects:
  web:
    agent: claude
    tracker: issues
    repos: [api, docs]
    github_trigger:
      project_resolution:
        strategy: repo # <-
`,
			repos: "  docs:\n    type: git\n    url: /srv/git/docs.git\n",
			path:  "projects.web.github_trigger.project_resolution.strategy",
			msg:   "repo needs a project with exactly one repo, this one has 2",
		},
		{
			name:   "repo resolution on a tracker whose tickets carry no repository",
			tracks: "  jira:\n    type: jira\n    url: https://acme.atlassian.net\n    project: API\n    auth: github_token\n",
			blocks: `projects:
  web:
    agent: claude
    tracker: jira
    repos: [api]
    jira_trigger:
      project_resolution: {strategy: repo} # <-
`,
			path: "projects.web.jira_trigger.project_resolution.strategy",
			msg:  `repo only applies to github and gitlab trackers, whose tickets live in a repository; tracker "jira" is of type jira, whose tickets carry no repository: use tag (a label the tickets carry)`,
		},
		{
			name:   "repo resolution on Azure DevOps",
			tracks: "  boards:\n    type: azure_devops\n    organization: acme\n    project: Portal\n    auth: github_token\n",
			blocks: `projects:
  web:
    agent: claude
    tracker: boards
    repos: [api]
    trigger:
      project_resolution: {strategy: repo} # <-
`,
			path: "projects.web.trigger.project_resolution.strategy",
			msg:  "repo only applies to github and gitlab trackers",
		},
		{
			name:  "repo resolution on a repository that is not the tracker's",
			repos: "  web-repo:\n    type: github\n    url: https://github.com/acme/web\n    auth: github_token\n",
			blocks: `projects:
  web:
    agent: claude
    tracker: issues
    repos: [web-repo]
    trigger:
      project_resolution: {strategy: repo, value: web-repo} # <-
`,
			path: "projects.web.trigger.project_resolution.value",
			msg:  `tracker "issues" reads the tickets of acme/api, so its tickets can never be in repo web-repo (url "https://github.com/acme/web"): use tag, or a tracker of that repository`,
		},
		{
			name:   "invalid quantity",
			blocks: webProject + "sandbox:\n  resources:\n    memory_limit: 1Gb # <-\n",
			path:   "sandbox.resources.memory_limit",
			msg:    `"1Gb" is not a Kubernetes quantity`,
		},
		{
			name:   "request above limit",
			blocks: webProject + "sandbox:\n  resources:\n    cpu_request: 1500m # <-\n",
			path:   "sandbox.resources.cpu_request",
			msg:    `"1500m" is more than cpu_limit "1"`,
		},
		{
			name: "project override above the inherited limit",
			blocks: webProject + `    sandbox:
      resources:
        memory_request: 2Gi # <-
`,
			path: "projects.web.sandbox.resources.memory_request",
			msg:  `"2Gi" is more than memory_limit "1Gi"`,
		},
		{
			name:   "unset environment variable",
			blocks: webProject + "queue:\n  max_parallel_jobs: ${WORKERS} # <-\n",
			path:   "queue.max_parallel_jobs",
			msg:    "WORKERS is not set",
		},
		{
			name:   "unset variable in a secret names the variable",
			blocks: webProject,
			mark:   "webhook_secret:",
			env:    map[string]string{"GITHUB_WEBHOOK_SECRET": "-"},
			path:   "trackers.issues.webhook_secret",
			msg:    "GITHUB_WEBHOOK_SECRET is not set",
		},
		{
			name:   "unterminated variable reference",
			blocks: webProject + "orchestrator:\n  registry: ${REGISTRY # <-\n",
			path:   "orchestrator.registry",
			msg:    `unterminated "${"`,
		},
		{
			name:   "bad pipeline name",
			blocks: webProject + "pipeline_triggers:\n  bug: fix-bugs # <-\n",
			path:   "pipeline_triggers.bug",
			msg:    `unknown value "fix-bugs" (did you mean "fix-bug"?)`,
		},
		{
			name: "bad pipeline name in a trigger",
			blocks: webProject + `    github_trigger:
      pipeline_from_label:
        feature: add-features # <-
`,
			path: "projects.web.github_trigger.pipeline_from_label.feature",
			msg:  `unknown value "add-features"`,
		},
		{
			name:   "invalid YAML syntax",
			blocks: webProject + "queue:\n\tmax_parallel_jobs: 4 # <-\n",
			path:   "",
			msg:    "invalid YAML",
		},
		{
			name:   "key of the original system that is not supported",
			blocks: webProject + "pipeline_storage: # <-\n  redis_ttl_hours: 4\n",
			path:   "pipeline_storage",
			msg:    "is not supported",
		},
		{
			name: "duplicate key",
			blocks: `projects:
  web:
    agent: claude
    tracker: issues
    repos: [api]
    agent: claude # <-
`,
			path: "projects.web.agent",
			msg:  "duplicate key (first at line",
		},
		{
			name:   "unknown enum value",
			agents: "  gpt:\n    type: open_ai # <-\n    model: gpt-4.1\n",
			blocks: webProject,
			path:   "agents.gpt.type",
			msg:    `unknown value "open_ai" (did you mean "openai"?)`,
		},
		{
			name:   "empty webhook secret",
			blocks: webProject,
			mark:   "webhook_secret:",
			env:    map[string]string{"GITHUB_WEBHOOK_SECRET": ""},
			path:   "trackers.issues.webhook_secret",
			msg:    "is empty; remove the key to refuse webhooks",
		},
		{
			name:   "scripted agent without a script",
			agents: "  replay: # <-\n    type: scripted\n",
			blocks: webProject,
			path:   "agents.replay.script",
			msg:    "is required",
		},
		{
			name:   "default API key secret that is not defined",
			agents: "  gpt: # <-\n    type: openai\n    model: gpt-4.1\n",
			blocks: webProject,
			path:   "agents.gpt.api_key_secret",
			msg:    "openai agents read their key from secrets.openai_api_key, which is not defined",
		},
		{
			name: "trigger block written twice",
			blocks: webProject + `    trigger:
      comment_keyword: /web
    github_trigger: # <-
      comment_keyword: /api
`,
			path: "projects.web.github_trigger",
			msg:  "a project has one trigger block, and trigger (line",
		},
		{
			name:   "misspelt trigger alias",
			blocks: webProject + "    github_triger: # <-\n      comment_keyword: /web\n",
			path:   "projects.web.github_triger",
			msg:    `unknown key (did you mean "github_trigger"?)`,
		},
		{
			name:   "cancel_when that is not a boolean",
			blocks: webProject + "    trigger:\n      cancel_when:\n        closed: sometimes # <-\n",
			path:   "projects.web.trigger.cancel_when.closed",
			msg:    `want true or false, got "sometimes"`,
		},
		{
			name:   "misspelt cancel_when key",
			blocks: webProject + "    trigger:\n      cancel_when: {unlabelled: false} # <-\n",
			path:   "projects.web.trigger.cancel_when.unlabelled",
			msg:    `unknown key (did you mean "unlabeled"?)`,
		},
		{
			name:   "key of another tracker type",
			tracks: "  lab:\n    type: gitlab\n    project: acme/lab\n    auth: github_token\n    email: bot@acme.example # <-\n",
			blocks: webProject,
			path:   "trackers.lab.email",
			msg:    "only applies to jira trackers",
		},
		{
			name:   "misspelt key of the tracker's type",
			tracks: "  jira:\n    type: jira\n    url: https://acme.atlassian.net\n    project: API\n    auth: github_token\n    emial: bot@acme.example # <-\n",
			blocks: webProject,
			path:   "trackers.jira.emial",
			msg:    `unknown key (did you mean "email"?)`,
		},
		{
			name:   "GitHub App block on another tracker type",
			tracks: "  lab:\n    type: gitlab\n    project: acme/lab\n    auth: github_token\n    app: {app_id: 1} # <-\n",
			blocks: webProject,
			path:   "trackers.lab.app",
			msg:    "only applies to github trackers",
		},
		{
			name:   "trigger key of another tracker type",
			blocks: webProject + "    trigger:\n      assignee_name: Agent Smith # <-\n",
			path:   "projects.web.trigger.assignee_name",
			msg:    "only applies to projects of jira trackers",
		},
		{
			name:   "area_path resolution in the generic trigger block",
			blocks: webProject + "    trigger:\n      project_resolution: {strategy: area_path, value: Platform} # <-\n",
			path:   "projects.web.trigger.project_resolution.strategy",
			msg:    "area_path only applies to azure_devops trackers",
		},
		{
			name:   "slot deployment outside Azure",
			agents: "    models:\n      planning: {model: claude-opus-4, deployment: opus} # <-\n",
			blocks: webProject,
			path:   "agents.claude.models.planning.deployment",
			msg:    "only applies to azure_openai agents",
		},
		{
			name:   "key of another provider type",
			agents: "  gpt:\n    type: openai\n    model: gpt-4.1\n    api_key_secret: anthropic_api_key\n    script: replay.json # <-\n",
			blocks: webProject,
			path:   "agents.gpt.script",
			msg:    "only applies to scripted agents",
		},
		{
			name:   "sandbox as root needs saying so",
			blocks: webProject + "sandbox:\n  run_as_user: 0 # <-\n",
			path:   "sandbox.run_as_user",
			msg:    "set run_as_root: true",
		},
		{
			name:   "toolchain as the git gate's uid",
			blocks: webProject + "sandbox:\n  run_as_user: 65532 # <-\n",
			path:   "sandbox.run_as_user",
			msg:    "uid 65532 is the git gate's, which holds the git credential",
		},
		{
			name:   "ephemeral storage request over its limit",
			blocks: webProject + "sandbox:\n  resources:\n    ephemeral_storage_request: 20Gi # <-\n",
			path:   "sandbox.resources.ephemeral_storage_request",
			msg:    `"20Gi" is more than ephemeral_storage_limit "10Gi"`,
		},
		{
			name:   "failed pods kept for a negative time",
			blocks: webProject + "sandbox:\n  keep_failed_pods_minutes: -5 # <-\n",
			path:   "sandbox.keep_failed_pods_minutes",
			msg:    "must be between 0 (do not keep) and 1440 (a day), got -5",
		},
		{
			name:   "failed pods kept for more than a day",
			blocks: webProject + "sandbox:\n  keep_failed_pods_minutes: 10080 # <-\n",
			path:   "sandbox.keep_failed_pods_minutes",
			msg:    "got 10080",
		},
		{
			name:   "runtime class that is no name",
			blocks: webProject + "sandbox:\n  runtime_class_name: gVisor! # <-\n",
			path:   "sandbox.runtime_class_name",
			msg:    "is not a valid RuntimeClass name",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := catalog(tc.agents, tc.repos, tc.tracks) + tc.blocks
			want := lineOf(t, doc, cmp.Or(tc.mark, "# <-"))
			errs := parseErrors(t, doc, envWith(tc.env))
			for _, e := range errs {
				if e.Path == tc.path && e.Line == want && strings.Contains(e.Message, tc.msg) {
					if e.Source != "agentsmith.yml" {
						t.Errorf("source = %q, want agentsmith.yml", e.Source)
					}
					return
				}
			}
			t.Errorf("no error at %s line %d containing %q; got:\n%v", tc.path, want, tc.msg, errs)
		})
	}
}

func TestEveryProblemIsReportedInOneParse(t *testing.T) {
	doc := baseDoc + `projects:
  web:
    agent: nobody
    tracker: issues
    repos: [api]
    draft_pull_request: true
queue:
  max_parallel_jobs: many
sandbox:
  resources:
    cpu_limit: lots
pipeline_triggers:
  bug: repair
primary_provider: claude
`
	errs := parseErrors(t, doc, envWith(map[string]string{"GITHUB_TOKEN": "-"}))
	wantPaths := []string{
		"secrets.github_token",
		"projects.web.agent",
		"projects.web.draft_pull_request",
		"queue.max_parallel_jobs",
		"sandbox.resources.cpu_limit",
		"pipeline_triggers.bug",
		"primary_provider",
	}
	got := map[string]bool{}
	for _, e := range errs {
		got[e.Path] = true
	}
	for _, p := range wantPaths {
		if !got[p] {
			t.Errorf("no error for %s", p)
		}
	}
	if len(errs) != len(wantPaths) {
		t.Errorf("got %d errors, want %d (one per problem, no follow-ups):\n%v", len(errs), len(wantPaths), errs)
	}
	for i := 1; i < len(errs); i++ {
		if errs[i].Line < errs[i-1].Line {
			t.Errorf("errors not in file order:\n%v", errs)
		}
	}
	if n := strings.Count(errs.Error(), "\n") + 1; n != len(errs) {
		t.Errorf("Error() has %d lines, want one per problem", n)
	}
}

func TestErrorLineFormat(t *testing.T) {
	e := config.FieldError{Source: "agentsmith.yml", Path: "trackers.acme-platform.webhook_secret", Line: 41, Message: "AZURE_DEVOPS_WEBHOOK_SECRET is not set"}
	want := "agentsmith.yml:41: trackers.acme-platform.webhook_secret: AZURE_DEVOPS_WEBHOOK_SECRET is not set"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	noLine := config.FieldError{Source: "agentsmith.yml", Path: "skills.version", Message: "is required"}
	if got := noLine.Error(); got != "agentsmith.yml: skills.version: is required" {
		t.Errorf("Error() without line = %q", got)
	}
}

func TestMissingFileIsAnErrorsWithTheCause(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yml")
	_, err := config.Load(path, envWith(nil), kinds())
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("err = %v, want one config.Errors entry", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false for %v", err)
	}
	if !strings.HasPrefix(err.Error(), path+": cannot read file") {
		t.Errorf("err = %q", err)
	}
}

func TestDocumentLevelProblems(t *testing.T) {
	cases := []struct {
		name, doc, msg string
	}{
		{"empty document", "", "projects: at least one project is required"},
		{"top level is a list", "- a\n- b\n", "want a mapping of blocks"},
		{"two documents", baseDoc + webProject + "---\nqueue: {}\n", "one YAML document"},
		{"merge of a mapping into itself", "secrets: &s\n  <<: *s\n", "refers to a value that contains it"},
		{"merge key bomb", aliasBomb(), "document too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := parseErrors(t, tc.doc, envWith(nil))
			if !strings.Contains(errs.Error(), tc.msg) {
				t.Errorf("errors do not mention %q:\n%v", tc.msg, errs)
			}
		})
	}
}

// aliasBomb is a small document whose merge keys expand exponentially.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 {x: 1}\n")
	for i := 1; i < 30; i++ {
		b.WriteString(strings.NewReplacer("N", strconv.Itoa(i), "P", strconv.Itoa(i-1)).Replace("aN: &aN {<<: [*aP, *aP, *aP, *aP]}\n"))
	}
	b.WriteString("secrets:\n  <<: *a29\n")
	return b.String()
}
