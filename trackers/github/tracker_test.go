package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

func rsaKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

func TestGitHubAppAuthenticatesWithInstallationTokens(t *testing.T) {
	g := NewWithT(t)
	key, pemKey := rsaKey(t)
	const appID, installation = 123456, 7890123
	fake := githubfake.New(githubfake.WithApp(appID, &key.PublicKey))
	t.Cleanup(fake.Close)
	fake.AddRepo(shopRepo, "main")
	n := fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "via app", Labels: []string{"agent-smith"}})

	tc := trackerConfig(fake)
	tc.Auth = ""
	tc.Settings = &Settings{App: &App{AppID: appID, InstallationID: installation, PrivateKeySecret: "github_app_key"}}
	cfg := &config.Config{Secrets: map[string]string{"github_app_key": pemKey}}
	tr, err := New("shop", tc, cfg, WithHTTPClient(fake.Client()))
	g.Expect(err).NotTo(HaveOccurred())

	ctx := context.Background()
	tk, err := tr.Ticket(ctx, itoa(n))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tk.Title).To(Equal("via app"))
	g.Expect(tr.SetLifecycle(ctx, itoa(n), trackers.LifecycleQueued)).To(Succeed())

	var tokenRequests int
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/app/installations/") {
			tokenRequests++
			g.Expect(r.Path).To(Equal("/app/installations/7890123/access_tokens"))
			g.Expect(r.Status).To(Equal(http.StatusCreated))
		}
	}
	g.Expect(tokenRequests).To(Equal(1), "the installation token is reused until it expires")

	_, otherPEM := rsaKey(t)
	cfg.Secrets["github_app_key"] = otherPEM
	wrong, err := New("shop", tc, cfg, WithHTTPClient(fake.Client()))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = wrong.Ticket(ctx, itoa(n))
	g.Expect(err).To(MatchError(ContainSubstring("401")), "a JWT signed with another key gets no token")
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	fake := githubfake.New()
	t.Cleanup(fake.Close)
	cases := []struct {
		name   string
		mutate func(*config.Tracker, *config.Config)
		want   string
	}{
		{"no auth", func(tc *config.Tracker, _ *config.Config) { tc.Auth = "" }, "no auth"},
		{"auth names a missing secret", func(tc *config.Tracker, _ *config.Config) { tc.Auth = "missing" }, `auth "missing" names no secret`},
		{"app key secret missing", func(tc *config.Tracker, _ *config.Config) {
			tc.Settings = &Settings{App: &App{AppID: 1, InstallationID: 2, PrivateKeySecret: "key"}}
		}, `private_key_secret "key" names no secret`},
		{"app key not PEM", func(tc *config.Tracker, c *config.Config) {
			tc.Settings = &Settings{App: &App{AppID: 1, InstallationID: 2, PrivateKeySecret: "key"}}
			c.Secrets["key"] = "not a key"
		}, "private key key"},
		{"project not owner/name", func(tc *config.Tracker, _ *config.Config) { tc.Project = "acme" }, "want owner/name"},
		{"wrong tracker type", func(tc *config.Tracker, _ *config.Config) { tc.Type = "gitlab" }, "not github"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			trc := trackerConfig(fake)
			cfg := &config.Config{Secrets: map[string]string{"github_token": testToken}}
			tc.mutate(trc, cfg)
			_, err := New("shop", trc, cfg)
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
			g.Expect(err.Error()).NotTo(ContainSubstring(testToken))
		})
	}
}

func TestAPIBaseFollowsEnterpriseLayout(t *testing.T) {
	cases := map[string]string{
		"https://api.github.com":          "https://api.github.com/",
		"https://api.github.com/":         "https://api.github.com/",
		"https://ghe.example/api/v3":      "https://ghe.example/api/v3/",
		"https://ghe.example/api/v3/":     "https://ghe.example/api/v3/",
		"https://ghe.example":             "https://ghe.example/api/v3/",
		"http://127.0.0.1:8080/api/v3///": "http://127.0.0.1:8080/api/v3/",
	}
	for in, want := range cases {
		if got := apiBase(in); got != want {
			t.Errorf("apiBase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLifecycleLabelsAreCreatedOnceWithColor(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	ctx := context.Background()
	a := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "a"})
	b := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "b"})
	g.Expect(f.tracker.SetLifecycle(ctx, itoa(a), trackers.LifecycleQueued)).To(Succeed())
	g.Expect(f.tracker.SetLifecycle(ctx, itoa(b), trackers.LifecycleQueued)).To(Succeed())
	g.Expect(f.tracker.SetLifecycle(ctx, itoa(a), trackers.LifecycleFailed)).To(Succeed())
	g.Expect(f.fake.Labels(shopRepo)).To(HaveKeyWithValue("agent-smith:queued", "c5def5"))
	g.Expect(f.fake.Labels(shopRepo)).To(HaveKeyWithValue("agent-smith:failed", "b60205"))
	lookups := 0
	for _, r := range f.fake.Requests() {
		if r.Method == http.MethodGet && strings.Contains(r.Path, "/labels/") {
			lookups++
		}
	}
	g.Expect(lookups).To(Equal(2), "each label is looked up once per process")
}

func TestCompleteClosesAsCompleted(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	n := f.fake.CreateIssue(shopRepo, githubfake.NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	g.Expect(f.tracker.Complete(context.Background(), itoa(n), "Closed", "Done: see PR")).To(Succeed())
	is, _ := f.fake.Issue(shopRepo, n)
	g.Expect(is.State).To(Equal("closed"))
	g.Expect(is.StateReason).To(Equal("completed"))
	g.Expect(is.Comments).To(ConsistOf(HaveField("Body", "Done: see PR")))
}
