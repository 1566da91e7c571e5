package azuredevops

import (
	"context"
	"testing"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers/azuredevops/adofake"
	"github.com/agent-smith/agent-smith/trackers/internal/retry/retrytest"
)

const (
	testOrg     = "acme-org"
	testProject = "Platform"
	testRepo    = "TodoList.Api"
	testPAT     = "ado-test-personal-access-token"
	testSecret  = "ado-webhook-secret"
)

func testConfig() *config.Config {
	return &config.Config{Secrets: map[string]string{"azure_devops_token": testPAT}}
}

func trackerConfig(fake *adofake.Server) *config.Tracker {
	return &config.Tracker{Type: Type, URL: fake.OrgURL(), Settings: &Settings{Organization: testOrg}, Project: testProject,
		Auth: "azure_devops_token", WebhookSecret: testSecret, TriggerLabels: []string{"agent-smith", "ai-fix"},
		OpenStates: []string{"New", "Active"}}
}

func repoConfig(fake *adofake.Server) *config.Repo {
	return &config.Repo{Type: config.RepoAzureDevOps, URL: fake.OrgURL() + "/" + testProject + "/_git/" + testRepo,
		Auth: "azure_devops_token", APIURL: fake.OrgURL()}
}

// fixture is a fake organization with the Platform project, the
// TodoList.Api repository and a tracker on it whose waits are recorded.
type fixture struct {
	fake    *adofake.Server
	tracker *Tracker
	waits   *retrytest.Clock
}

func newFixture(t *testing.T, fakeOpts ...adofake.Option) *fixture {
	t.Helper()
	fake := adofake.New(append([]adofake.Option{adofake.WithOrganization(testOrg), adofake.WithToken(testPAT)}, fakeOpts...)...)
	t.Cleanup(fake.Close)
	fake.AddProject(testProject)
	fake.AddRepo(testProject, testRepo, "main")
	tr, err := New("platform", trackerConfig(fake), testConfig(), WithHTTPClient(fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	w := &retrytest.Clock{}
	w.Install(tr.api.Caller)
	if _, err := tr.Self(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &fixture{fake: fake, tracker: tr, waits: w}
}

func (f *fixture) repoHost(t *testing.T) *RepoHost {
	t.Helper()
	h, err := NewRepoHost(testRepo, repoConfig(f.fake), testConfig(), WithHTTPClient(f.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	f.waits.Install(h.api.Caller)
	return h
}

// workItem creates a Bug in Platform.
func (f *fixture) workItem(title, state string, tags ...string) int {
	return f.fake.CreateWorkItem(adofake.NewWorkItem{Project: testProject, Title: title, State: state, Tags: tags,
		AreaPath: `Platform\TodoList`, CreatedBy: alice})
}
