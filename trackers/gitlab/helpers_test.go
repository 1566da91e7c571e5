package gitlab

import (
	"context"
	"strconv"
	"testing"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
	"github.com/agent-smith/agent-smith/trackers/internal/retry/retrytest"
)

const (
	testToken   = "glpat-test-token"
	testSecret  = "webhook-secret"
	shopProject = "acme/shop"
	apiProject  = "acme/platform/shop-api"
	bot         = "agent-smith-bot"
)

// fixture is a fake GitLab with the shop projects, their members and a
// tracker on it whose membership snapshot is loaded.
type fixture struct {
	fake    *gitlabfake.Server
	tracker *Tracker
	cfg     *config.Config
	waits   *retrytest.Clock
}

// The users of every fixture: dev may instruct agent-smith, the others
// may not (stranger is no member at all).
var fixtureMembers = map[string]int{
	"dev":   gitlabfake.AccessDeveloper,
	"lead":  gitlabfake.AccessMaintainer,
	"alice": gitlabfake.AccessReporter,
	"guest": gitlabfake.AccessGuest,
}

func newFixture(t *testing.T, fakeOpts ...gitlabfake.Option) *fixture {
	t.Helper()
	fake := gitlabfake.New(append([]gitlabfake.Option{gitlabfake.WithBotToken(testToken, bot)}, fakeOpts...)...)
	t.Cleanup(fake.Close)
	for _, p := range []string{shopProject, apiProject} {
		fake.AddProject(p, "main")
		fake.AddMember(p, bot, gitlabfake.AccessMaintainer)
	}
	for user, level := range fixtureMembers {
		fake.AddUser(user)
		fake.AddMember(shopProject, user, level)
	}
	fake.AddUser("stranger")
	cfg := &config.Config{Secrets: map[string]string{"gitlab_token": testToken}}
	tr, err := New("shop", trackerConfig(fake), cfg, WithHTTPClient(fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	w := &retrytest.Clock{}
	w.Install(tr.api.Caller)
	if err := tr.RefreshMembers(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &fixture{fake: fake, tracker: tr, cfg: cfg, waits: w}
}

func trackerConfig(fake *gitlabfake.Server) *config.Tracker {
	return &config.Tracker{Type: Type, URL: fake.URL, Project: shopProject, Auth: "gitlab_token",
		WebhookSecret: testSecret, TriggerLabels: []string{"agent-smith", "ai-fix"}, OpenStates: []string{"open"}}
}

func (f *fixture) repoHost(t *testing.T) *RepoHost {
	t.Helper()
	r := &config.Repo{Type: config.RepoGitLab, URL: f.fake.URL + "/" + apiProject + ".git", Auth: "gitlab_token", APIURL: f.fake.URL}
	h, err := NewRepoHost("shop-api", r, f.cfg, WithHTTPClient(f.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	f.waits.Install(h.api.Caller)
	return h
}

func itoa(n int) string { return strconv.Itoa(n) }
