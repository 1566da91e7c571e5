package jira

import "github.com/agent-smith/agent-smith/config"

// Type is Jira's tracker type in agentsmith.yml.
const Type = "jira"

// Kind is the Jira tracker type as config reads it (trackers/connect holds
// it in its table). Assigning an issue to the agent user triggers too, so
// trigger_labels may be empty.
func Kind() config.TrackerKind {
	return config.TrackerKind{
		Settings:        func() config.TrackerSettings { return &Settings{} },
		TriggerSettings: func() config.TrackerSettings { return &TriggerSettings{} },
		LabelsOptional:  true,
		TriggerAlias:    "jira_trigger",
	}
}

// Settings are a jira tracker's own keys.
type Settings struct {
	// Email is the basic-auth user; without it the token is sent as a
	// bearer token (an OAuth 2.0 access token). Only Jira Cloud is
	// supported: the tracker speaks REST v3 and its search/jql endpoint.
	Email string `json:"email,omitempty"`
	// CloseTransitionName picks among several transitions into
	// done_status.
	CloseTransitionName string `json:"close_transition_name,omitempty"`
	// AgentUser is the user whose assignment triggers, and whose comments
	// are agent-smith's own.
	AgentUser string `json:"agent_user,omitempty"`
}

// Default fills agent_user with "Agent Smith" and open_states with To Do
// and Open.
func (s *Settings) Default(b config.Block, t *config.Tracker) {
	config.Default(b, "agent_user", &s.AgentUser, "Agent Smith")
	config.Default(b, "open_states", &t.OpenStates, []string{"To Do", "Open"})
}

// Validate checks that the tracker has a token.
func (*Settings) Validate(b config.Block, t *config.Tracker) {
	b.Required("auth", t.Auth)
}

// TriggerSettings are a jira project's own keys of its trigger block.
type TriggerSettings struct {
	// AssigneeName: assigning an issue to this user triggers the project;
	// defaults to the tracker's agent_user.
	AssigneeName string `json:"assignee_name,omitempty"`
}

// Default fills assignee_name with the tracker's agent_user.
func (s *TriggerSettings) Default(b config.Block, t *config.Tracker) {
	config.Default(b, "assignee_name", &s.AssigneeName, settingsOf(t).AgentUser)
}

// Validate has nothing to check: any user name may be assigned.
func (*TriggerSettings) Validate(config.Block, *config.Tracker) {}

// settingsOf is t's Jira settings; a tracker built without them (in code,
// not from a file) has none set.
func settingsOf(t *config.Tracker) *Settings {
	if s, ok := t.Settings.(*Settings); ok && s != nil {
		return s
	}
	return &Settings{}
}
