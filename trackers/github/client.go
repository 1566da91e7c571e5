package github

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v88/github"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

// Option adjusts a Tracker or RepoHost.
type Option func(*options)

type options struct {
	httpClient *http.Client
	baseURL    string
	maxWait    time.Duration
}

// WithHTTPClient sends API requests through c's transport (tests: the
// fake's client; production: a client with proxy or timeout settings).
// The client itself is not modified.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithBaseURL replaces the configured API base URL.
func WithBaseURL(u string) Option { return func(o *options) { o.baseURL = u } }

// WithMaxRateLimitWait caps how long one call waits out a rate limit before
// it gives up with the error (default 10 minutes).
func WithMaxRateLimitWait(d time.Duration) Option { return func(o *options) { o.maxWait = d } }

const (
	defaultAPIURL  = "https://api.github.com"
	defaultMaxWait = 10 * time.Minute
	// requestTimeout bounds one HTTP exchange; a call's retries each get it.
	requestTimeout = 30 * time.Second
	maxAttempts    = 5
)

// credentials is how the client authenticates: a token, or a GitHub App
// installation (private key PEM).
type credentials struct {
	token          string
	appID, instID  int64
	privateKeyPEM  []byte
	credentialName string
}

// api is a go-github client bound to one repository; every call goes
// through the embedded Caller, which retries as backoff decides.
type api struct {
	*retry.Caller
	gh          *gh.Client
	owner, repo string
	// app calls as the GitHub App itself (a JWT, not an installation
	// token): GET /app, to learn the App's bot. Nil for token auth.
	app *gh.Client
}

func newAPI(apiURL, fullName string, cred credentials, cache bool, o options) (*api, error) {
	owner, repo, ok := strings.Cut(strings.Trim(fullName, "/"), "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("repository %q: want owner/name", fullName)
	}
	if o.baseURL != "" {
		apiURL = o.baseURL
	}
	if apiURL == "" {
		apiURL = defaultAPIURL
	}
	base := http.DefaultTransport
	if o.httpClient != nil && o.httpClient.Transport != nil {
		base = o.httpClient.Transport
	}
	if cache {
		// Below authentication: a 304 answered from here still carries
		// the caller's credentials upstream.
		base = newETagCache(base)
	}
	common := []gh.ClientOptionsFunc{
		// Our own retry layer waits out rate limits with an injectable
		// clock; go-github's pre-emptive check would bypass it.
		gh.WithDisableRateLimitCheck(),
		gh.WithTimeout(requestTimeout),
	}
	if apiBase(apiURL) != defaultAPIURL+"/" {
		common = append(common, gh.WithEnterpriseURLs(apiURL, apiURL))
	}
	ghOpts := slices.Clone(common)
	var appOpts []gh.ClientOptionsFunc
	switch {
	case cred.appID != 0:
		tr, err := ghinstallation.New(base, cred.appID, cred.instID, cred.privateKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("github app %d: private key %s: %w", cred.appID, cred.credentialName, err)
		}
		tr.BaseURL = strings.TrimRight(apiBase(apiURL), "/")
		ghOpts = append(ghOpts, gh.WithTransport(tr))
		jwt, err := ghinstallation.NewAppsTransport(base, cred.appID, cred.privateKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("github app %d: private key %s: %w", cred.appID, cred.credentialName, err)
		}
		jwt.BaseURL = tr.BaseURL
		appOpts = append(slices.Clone(common), gh.WithTransport(jwt))
	case cred.token != "":
		ghOpts = append(ghOpts, gh.WithTransport(base), gh.WithAuthToken(cred.token))
	default:
		return nil, errors.New("no credentials: set auth (a token secret) or app")
	}
	client, err := gh.NewClient(ghOpts...)
	if err != nil {
		return nil, fmt.Errorf("github client for %s: %w", apiURL, err)
	}
	a := &api{gh: client, owner: owner, repo: repo,
		Caller: retry.New(retry.Policy{Tracker: "GitHub", Attempts: maxAttempts, MaxWait: orDefault(o.maxWait, defaultMaxWait), Decide: backoff})}
	if appOpts != nil {
		if a.app, err = gh.NewClient(appOpts...); err != nil {
			return nil, fmt.Errorf("github app client for %s: %w", apiURL, err)
		}
	}
	return a, nil
}

// apiBase is the API URL with the path go-github uses for it: the public
// API as is, anything else with /api/v3/ as GitHub Enterprise Server has.
func apiBase(apiURL string) string {
	u := strings.TrimRight(apiURL, "/")
	if strings.EqualFold(u, defaultAPIURL) {
		return defaultAPIURL + "/"
	}
	if !strings.HasSuffix(u, "/api/v3") {
		u += "/api/v3"
	}
	return u + "/"
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// trackerCredentials reads a tracker's token or App key from the secrets.
func trackerCredentials(name string, t *config.Tracker, cfg *config.Config) (credentials, error) {
	if app := settingsOf(t).App; app != nil {
		key, ok := cfg.Secret(app.PrivateKeySecret)
		if !ok || key == "" {
			return credentials{}, fmt.Errorf("tracker %s: app private_key_secret %q names no secret with a value", name, app.PrivateKeySecret)
		}
		return credentials{appID: app.AppID, instID: app.InstallationID, privateKeyPEM: []byte(key),
			credentialName: app.PrivateKeySecret}, nil
	}
	return tokenCredentials("tracker "+name, t.Auth, cfg)
}

func tokenCredentials(what, secret string, cfg *config.Config) (credentials, error) {
	tok, err := cfg.Credential(secret, "a GitHub token (or configure app)")
	if err != nil {
		return credentials{}, fmt.Errorf("%s: %w", what, err)
	}
	return credentials{token: tok, credentialName: secret}, nil
}

// repoFromURL is owner/name of a GitHub repository URL (https, with or
// without .git, or scp-style git@host:owner/name.git).
func repoFromURL(raw string) (string, error) {
	path := ""
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		path = u.Path
	} else if _, after, ok := strings.Cut(raw, ":"); ok && strings.Contains(raw, "@") {
		path = after
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	owner, repo, ok := strings.Cut(path, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return "", fmt.Errorf("repository url %s: want https://host/owner/name", redactURL(raw))
	}
	return owner + "/" + repo, nil
}

// redactURL drops userinfo so a token in a URL never reaches an error.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if err != nil {
			return "(unparseable url)"
		}
		return raw
	}
	u.User = nil
	return u.String()
}
