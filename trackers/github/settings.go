package github

import (
	"regexp"

	"github.com/agent-smith/agent-smith/config"
)

// Type is GitHub's tracker type in agentsmith.yml.
const Type = "github"

// Kind is the GitHub tracker type as config reads it (trackers/connect
// holds it in its table).
func Kind() config.TrackerKind {
	return config.TrackerKind{
		Settings:     func() config.TrackerSettings { return &Settings{} },
		TriggerAlias: "github_trigger",
		RepoTickets:  true,
	}
}

// Settings are a github tracker's own keys.
type Settings struct {
	// App authenticates the tracker as a GitHub App installation instead
	// of with the token auth names.
	App *App `json:"app,omitempty"`
}

// App is the `app` block: a GitHub App installation.
type App struct {
	AppID          int64 `json:"app_id"`
	InstallationID int64 `json:"installation_id"`
	// PrivateKeySecret names the `secrets` entry with the PEM private key.
	PrivateKeySecret string `json:"private_key_secret"`
}

// Default fills url with the public API and open_states with "open".
func (s *Settings) Default(b config.Block, t *config.Tracker) {
	config.Default(b, "url", &t.URL, "https://api.github.com")
	config.Default(b, "open_states", &t.OpenStates, []string{"open"})
}

var ownerRepo = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// Validate checks that project is owner/repo and that the tracker
// authenticates one way: with a token (auth) or as an App.
func (s *Settings) Validate(b config.Block, t *config.Tracker) {
	if t.Project != "" && !ownerRepo.MatchString(t.Project) {
		b.Fail("project", "want owner/repo, the repository whose issues are the tickets")
	}
	if s.App == nil {
		b.Required("auth", t.Auth)
		return
	}
	if t.Auth != "" {
		b.Fail("auth", "set either auth or app, not both")
	}
	if s.App.AppID <= 0 {
		b.Fail("app.app_id", "is required")
	}
	if s.App.InstallationID <= 0 {
		b.Fail("app.installation_id", "is required")
	}
	b.Secret("app.private_key_secret", s.App.PrivateKeySecret)
}

// settingsOf is t's GitHub settings; a tracker built without them (in
// code, not from a file) has none set.
func settingsOf(t *config.Tracker) *Settings {
	if s, ok := t.Settings.(*Settings); ok && s != nil {
		return s
	}
	return &Settings{}
}
