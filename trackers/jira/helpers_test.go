package jira

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/agent-smith/agent-smith/config"
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
	waits   *waits
}

func newFixture(t *testing.T, fakeOpts ...jirafake.Option) *fixture {
	t.Helper()
	fake := jirafake.New(append([]jirafake.Option{jirafake.WithUser(testEmail, testToken, agentUser)}, fakeOpts...)...)
	t.Cleanup(fake.Close)
	fake.AddProject(testProject, "Shop")
	f := &fixture{fake: fake, waits: &waits{}}
	f.tracker = f.build(t, trackerConfig(fake), testConfig())
	return f
}

func (f *fixture) build(t *testing.T, tc *config.Tracker, cfg *config.Config) *Tracker {
	t.Helper()
	tr, err := New("shop", tc, cfg, WithHTTPClient(f.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	f.waits.install(tr.api)
	return tr
}

func trackerConfig(fake *jirafake.Server) *config.Tracker {
	return &config.Tracker{Type: config.TrackerJira, URL: fake.URL, Project: testProject, Auth: "jira_token", Email: testEmail,
		WebhookSecret: testSecret, TriggerLabels: []string{"agent-smith", "ai-fix"}, OpenStates: []string{"To Do", "In Progress"},
		AgentUser: "Agent Smith"}
}

func testConfig() *config.Config {
	return &config.Config{Secrets: map[string]string{"jira_token": testToken}}
}

func (f *fixture) issue(labels ...string) string {
	return f.fake.CreateIssue(testProject, jirafake.NewIssue{Summary: "Checkout fails", Description: "500 on pay", Labels: labels})
}

// waits records the waits a client asked for instead of spending them, on
// a clock that moves forward by each wait; jitter is the identity.
type waits struct {
	mu    sync.Mutex
	got   []time.Duration
	clock time.Time
}

func (w *waits) install(a *api) {
	w.clock = time.Now()
	a.sleep = func(ctx context.Context, d time.Duration) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.got = append(w.got, d)
		w.clock = w.clock.Add(d)
		return ctx.Err()
	}
	a.now = func() time.Time {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.clock
	}
	a.jitter = func(d time.Duration) time.Duration { return d }
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.got...)
}
