package jira

import (
	"context"
	"testing"
	"time"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers/internal/retry/retrytest"
	"github.com/agent-smith/agent-smith/trackers/jira/jirafake"
)

const (
	testEmail   = "agent-smith@acme.example"
	testToken   = "jira-api-token-for-tests"
	testSecret  = "jira-webhook-secret"
	testProject = "SHOP"
)

var (
	agentUser = jirafake.User{AccountID: "557058:agent-smith", DisplayName: "Agent Smith"}
	alice     = jirafake.User{AccountID: "557058:alice", DisplayName: "Alice Developer"}
	bob       = jirafake.User{AccountID: "557058:bob", DisplayName: "Bob Builder"}
	customer  = jirafake.User{AccountID: "qm:7c2f:customer", DisplayName: "Carl Customer", AccountType: "customer"}
)

// fixture is a fake Jira site with the SHOP project and a tracker on it
// whose waits are recorded instead of spent.
type fixture struct {
	fake    *jirafake.Server
	tracker *Tracker
	waits   *retrytest.Clock
}

func newFixture(t *testing.T, fakeOpts ...jirafake.Option) *fixture {
	t.Helper()
	fake := jirafake.New(append([]jirafake.Option{jirafake.WithUser(testEmail, testToken, agentUser)}, fakeOpts...)...)
	t.Cleanup(fake.Close)
	fake.AddProject(testProject, "Shop")
	f := &fixture{fake: fake, waits: &retrytest.Clock{}}
	f.tracker = f.build(t, trackerConfig(fake), testConfig())
	return f
}

// learnSelf has the tracker learn its own account, as serve's start does;
// comment deliveries wait for it.
func (f *fixture) learnSelf(t *testing.T) {
	t.Helper()
	if _, err := f.tracker.Self(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) build(t *testing.T, tc *config.Tracker, cfg *config.Config) *Tracker {
	t.Helper()
	tr, err := New("shop", tc, cfg, WithHTTPClient(f.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	record(tr.api, f.waits)
	return tr
}

func trackerConfig(fake *jirafake.Server) *config.Tracker {
	return &config.Tracker{Type: Type, URL: fake.URL, Project: testProject, Auth: "jira_token",
		WebhookSecret: testSecret, TriggerLabels: []string{"agent-smith", "ai-fix"}, OpenStates: []string{"To Do", "In Progress"},
		Settings: &Settings{Email: testEmail, AgentUser: "Agent Smith"}}
}

func testConfig() *config.Config {
	return &config.Config{Secrets: map[string]string{"jira_token": testToken}}
}

func (f *fixture) issue(labels ...string) string {
	return f.fake.CreateIssue(testProject, jirafake.NewIssue{Summary: "Checkout fails", Description: "500 on pay", Labels: labels})
}

// record makes a's waits land on clock instead of being spent, and keeps
// them as named: no jitter.
func record(a *api, clock *retrytest.Clock) {
	clock.Install(a.Caller)
	a.jitter = func(d time.Duration) time.Duration { return d }
}
