package config_test

import (
	"strings"
	"testing"

	"github.com/agent-smith/agent-smith/config"
)

// TestDefaultResolutionFollowsWhereTheTicketsLive: a project that says
// nothing about how it takes tickets takes its repository's issues when
// its tracker's tickets live there, else the tickets labelled like it.
func TestDefaultResolutionFollowsWhereTheTicketsLive(t *testing.T) {
	const otherRepo = "  web-repo:\n    type: github\n    url: https://github.com/acme/Web.git\n    auth: github_token\n"
	const gitlab = "  lab:\n    type: gitlab\n    project: group/sub/api\n    auth: github_token\n"
	const gitlabByID = "  lab:\n    type: gitlab\n    project: \"4711\"\n    auth: github_token\n"
	const labRepo = "  lab-api:\n    type: gitlab\n    url: https://gitlab.com/Group/Sub/API.git\n    auth: github_token\n"
	cases := []struct {
		name    string
		doc     string
		project string
		want    config.ProjectResolution
	}{
		{"one GitHub repository, the tracker's", catalog("", "", "") + "projects:\n  web: {agent: claude, tracker: issues, repos: [api]}\n",
			"web", config.ProjectResolution{Strategy: config.ResolveByRepo, Value: "api"}},
		{"a trigger block without project_resolution", catalog("", "", "") + "projects:\n  web: {agent: claude, tracker: issues, repos: [api], trigger: {done_status: closed}}\n",
			"web", config.ProjectResolution{Strategy: config.ResolveByRepo, Value: "api"}},
		{"two projects of one tracker are told apart by their labels", catalog("", "", "") +
			"projects:\n  web: {agent: claude, tracker: issues, repos: [api]}\n  docs: {agent: claude, tracker: issues, repos: [api]}\n",
			"web", config.ProjectResolution{Strategy: config.ResolveByTag, Value: "web"}},
		{"code in another repository than the issues", catalog("", otherRepo, "") + "projects:\n  web: {agent: claude, tracker: issues, repos: [web-repo]}\n",
			"web", config.ProjectResolution{Strategy: config.ResolveByTag, Value: "web"}},
		{"two repositories", catalog("", otherRepo, "") + "projects:\n  web: {agent: claude, tracker: issues, repos: [api, web-repo]}\n",
			"web", config.ProjectResolution{Strategy: config.ResolveByTag, Value: "web"}},
		{"a value written without a strategy names a tag", catalog("", "", "") + "projects:\n  web: {agent: claude, tracker: issues, repos: [api], trigger: {project_resolution: {value: frontend}}}\n",
			"web", config.ProjectResolution{Strategy: config.ResolveByTag, Value: "frontend"}},
		{"GitLab, path in another case and .git", catalog("", labRepo, gitlab) + "projects:\n  lab: {agent: claude, tracker: lab, repos: [lab-api]}\n",
			"lab", config.ProjectResolution{Strategy: config.ResolveByRepo, Value: "lab-api"}},
		// A numeric project id cannot be compared with a URL: no default,
		// but the strategy written in the file is taken.
		{"GitLab project by id", catalog("", labRepo, gitlabByID) + "projects:\n  lab: {agent: claude, tracker: lab, repos: [lab-api]}\n",
			"lab", config.ProjectResolution{Strategy: config.ResolveByTag, Value: "lab"}},
		{"GitLab project by id, strategy repo written", catalog("", labRepo, gitlabByID) +
			"projects:\n  lab: {agent: claude, tracker: lab, repos: [lab-api], trigger: {project_resolution: {strategy: repo}}}\n",
			"lab", config.ProjectResolution{Strategy: config.ResolveByRepo, Value: "lab-api"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, tc.doc)
			if got := cfg.Projects[tc.project].Trigger().ProjectResolution; got != tc.want {
				t.Errorf("project_resolution = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestPollingTimeoutAndIntervalFollowEachOther: of the two, the one the
// file leaves out follows the one it gives; only two written values can
// contradict each other.
func TestPollingTimeoutAndIntervalFollowEachOther(t *testing.T) {
	polling := func(block string) string {
		return catalog("", "", "    polling: "+block+"\n") + webProject
	}
	cases := []struct {
		block string
		want  config.Polling
	}{
		{"{enabled: true, interval_seconds: 5}", config.Polling{Enabled: true, IntervalSeconds: 5, JitterPercent: 10, TimeoutSeconds: 5}},
		{"{enabled: true, interval_seconds: 300}", config.Polling{Enabled: true, IntervalSeconds: 300, JitterPercent: 10, TimeoutSeconds: 20}},
		{"{enabled: true, timeout_seconds: 90}", config.Polling{Enabled: true, IntervalSeconds: 90, JitterPercent: 10, TimeoutSeconds: 90}},
	}
	for _, tc := range cases {
		cfg := mustParse(t, polling(tc.block))
		if got := cfg.Trackers["issues"].Polling; got != tc.want {
			t.Errorf("%s: polling = %+v, want %+v", tc.block, got, tc.want)
		}
	}
	errs := parseErrors(t, polling("{enabled: true, interval_seconds: 10, timeout_seconds: 30}"), envWith(nil))
	if len(errs) != 1 || errs[0].Path != "trackers.issues.polling.timeout_seconds" || !strings.Contains(errs[0].Message, "more than interval_seconds 10") {
		t.Errorf("errors = %v", errs)
	}
	errs = parseErrors(t, polling("{enabled: true, interval_seconds: 0}"), envWith(nil))
	if len(errs) != 1 || errs[0].Path != "trackers.issues.polling.interval_seconds" {
		t.Errorf("a bad interval is one error, on the key written: %v", errs)
	}
}
