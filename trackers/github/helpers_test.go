package github

import (
	"context"
	"testing"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
	"github.com/agent-smith/agent-smith/trackers/internal/retry/retrytest"
)

const (
	testToken  = "ghp_test-token"
	testSecret = "webhook-secret"
	shopRepo   = "acme/shop"
	apiRepo    = "acme/shop-api"
)

// fixture is a fake GitHub with the shop repositories and a tracker on it.
type fixture struct {
	fake    *githubfake.Server
	tracker *Tracker
	cfg     *config.Config
	waits   *retrytest.Clock
}

func newFixture(t *testing.T, fakeOpts ...githubfake.Option) *fixture {
	t.Helper()
	fake := githubfake.New(append([]githubfake.Option{githubfake.WithToken(testToken)}, fakeOpts...)...)
	t.Cleanup(fake.Close)
	fake.AddRepo(shopRepo, "main")
	fake.AddRepo(apiRepo, "main")
	cfg := &config.Config{Secrets: map[string]string{"github_token": testToken}}
	tr, err := New("shop", trackerConfig(fake), cfg, WithHTTPClient(fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	w := &retrytest.Clock{}
	w.Install(tr.api.Caller)
	if _, err := tr.Self(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &fixture{fake: fake, tracker: tr, cfg: cfg, waits: w}
}

func trackerConfig(fake *githubfake.Server) *config.Tracker {
	return &config.Tracker{Type: Type, URL: fake.APIURL(), Project: shopRepo, Auth: "github_token",
		WebhookSecret: testSecret, TriggerLabels: []string{"agent-smith", "ai-fix"}, OpenStates: []string{"open"}}
}

func (f *fixture) repoHost(t *testing.T) *RepoHost {
	t.Helper()
	r := &config.Repo{Type: config.RepoGitHub, URL: f.fake.URL + "/" + apiRepo, Auth: "github_token", APIURL: f.fake.APIURL()}
	h, err := NewRepoHost("shop-api", r, f.cfg, WithHTTPClient(f.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	f.waits.Install(h.api.Caller)
	return h
}
