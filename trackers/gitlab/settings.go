package gitlab

import "github.com/agent-smith/agent-smith/config"

// Type is GitLab's tracker type in agentsmith.yml.
const Type = "gitlab"

// Kind is the GitLab tracker type as config reads it (trackers/connect
// holds it in its table).
func Kind() config.TrackerKind {
	return config.TrackerKind{
		Settings:     func() config.TrackerSettings { return &Settings{} },
		TriggerAlias: "gitlab_trigger",
		RepoTickets:  true,
	}
}

// Settings are a gitlab tracker's own keys: none, only its defaults and
// checks.
type Settings struct{}

// Default fills url with gitlab.com and open_states with "open".
func (*Settings) Default(b config.Block, t *config.Tracker) {
	config.Default(b, "url", &t.URL, "https://gitlab.com")
	config.Default(b, "open_states", &t.OpenStates, []string{"open"})
}

// Validate checks that the tracker has a token.
func (*Settings) Validate(b config.Block, t *config.Tracker) {
	b.Required("auth", t.Auth)
}
