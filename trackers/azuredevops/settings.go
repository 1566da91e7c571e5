package azuredevops

import (
	"net/url"

	"github.com/agent-smith/agent-smith/config"
)

// Type is Azure DevOps' tracker type in agentsmith.yml.
const Type = "azure_devops"

// Kind is the Azure DevOps tracker type as config reads it
// (trackers/connect holds it in its table). Its work items can also be
// matched to projects by area path.
func Kind() config.TrackerKind {
	return config.TrackerKind{
		Settings:     func() config.TrackerSettings { return &Settings{} },
		Strategies:   []string{config.ResolveByTag, config.ResolveByAreaPath},
		TriggerAlias: "azuredevops_trigger",
	}
}

// Settings are an azure_devops tracker's own keys.
type Settings struct {
	// Organization is the Azure DevOps organization; url defaults to
	// https://dev.azure.com/{organization}.
	Organization string `json:"organization,omitempty"`
}

// Default fills url from the organization and open_states with New and
// Active.
func (s *Settings) Default(b config.Block, t *config.Tracker) {
	if s.Organization != "" {
		config.Default(b, "url", &t.URL, orgURL(s.Organization))
	}
	config.Default(b, "open_states", &t.OpenStates, []string{"New", "Active"})
}

// Validate checks that the tracker names its organization and has a token.
func (s *Settings) Validate(b config.Block, t *config.Tracker) {
	b.Required("organization", s.Organization)
	b.Required("auth", t.Auth)
}

// orgURL is the cloud organization's URL.
func orgURL(organization string) string {
	return "https://dev.azure.com/" + url.PathEscape(organization)
}

// settingsOf is t's Azure DevOps settings; a tracker built without them
// (in code, not from a file) has none set.
func settingsOf(t *config.Tracker) *Settings {
	if s, ok := t.Settings.(*Settings); ok && s != nil {
		return s
	}
	return &Settings{}
}
