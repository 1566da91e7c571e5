package gitlab

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-logr/logr"
	gl "gitlab.com/gitlab-org/api/client-go"
	"golang.org/x/time/rate"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

// Option adjusts a Tracker or RepoHost.
type Option func(*options)

type options struct {
	httpClient *http.Client
	baseURL    string
	maxWait    time.Duration
	log        logr.Logger
}

// WithHTTPClient sends API requests through c's transport (tests: the
// fake's client; production: a client with proxy or TLS settings). The
// client itself is not modified.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithBaseURL replaces the configured instance URL.
func WithBaseURL(u string) Option { return func(o *options) { o.baseURL = u } }

// WithMaxRateLimitWait caps how long one call waits out a rate limit
// before it gives up with the error (default 10 minutes).
func WithMaxRateLimitWait(d time.Duration) Option { return func(o *options) { o.maxWait = d } }

// WithLogger is where work the Tracker does in the background (refreshing
// the membership snapshot) reports failures; calls made with a context use
// the context's logger.
func WithLogger(l logr.Logger) Option { return func(o *options) { o.log = l } }

const (
	defaultInstance = "https://gitlab.com"
	defaultMaxWait  = 10 * time.Minute
	// requestTimeout bounds one HTTP exchange; a call's retries each get it.
	requestTimeout = 30 * time.Second
	maxAttempts    = 5
)

// api is a GitLab client bound to one project; every call goes through
// the embedded Caller, which retries as backoff decides.
type api struct {
	*retry.Caller
	gl *gl.Client
	// project is the project's path with namespace (or numeric id), as
	// the API accepts it in place of :id.
	project string
}

func newAPI(instance, project, token string, o options) (*api, error) {
	if o.baseURL != "" {
		instance = o.baseURL
	}
	if instance == "" {
		instance = defaultInstance
	}
	u, err := url.Parse(instance)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("instance url %s: want http(s)://host[/path] without credentials", redactURL(instance))
	}
	// A transport of its own: the HTTP library closes the idle
	// connections of the client's transport after a failed request, which
	// should not reach other users of http.DefaultTransport.
	var transport http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if o.httpClient != nil && o.httpClient.Transport != nil {
		transport = o.httpClient.Transport
	}
	client, err := gl.NewClient(token,
		gl.WithBaseURL(instance),
		gl.WithHTTPClient(&http.Client{Transport: transport, Timeout: requestTimeout}),
		// Our own retry layer (the api's Caller, deciding in retry.go)
		// waits out 429 and 5xx with an injectable clock, bounded
		// attempts and a bounded wait; the
		// library's retries would multiply with it and wait unbounded
		// on RateLimit-Reset. Its pre-emptive limiter, sized from the
		// first answer's RateLimit-Limit, is disabled for the same
		// reason: limits are handled when GitLab says so.
		gl.WithoutRetries(),
		gl.WithCustomLimiter(rate.NewLimiter(rate.Inf, 0)),
		gl.WithURLWarningLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		return nil, fmt.Errorf("gitlab client for %s: %w", redactURL(instance), err)
	}
	calls := retry.New(retry.Policy{Tracker: "GitLab", Attempts: maxAttempts, MaxWait: orDefault(o.maxWait, defaultMaxWait), Decide: backoff})
	return &api{Caller: calls, gl: client, project: project}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// token reads the token the auth setting names.
func token(what, secret string, cfg *config.Config) (string, error) {
	tok, err := cfg.Credential(secret, "a GitLab token")
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return tok, nil
}

// projectFromURL is the project path (namespace/…/name) of a repository
// URL: https with or without .git, or scp-style git@host:group/name.git.
// When the instance lives under a path (https://host/gitlab), that prefix
// is not part of the project path.
func projectFromURL(raw, instance string) (string, error) {
	path := ""
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		path = u.Path
		if iu, err := url.Parse(instance); err == nil && strings.EqualFold(iu.Host, u.Host) {
			prefix := strings.TrimSuffix(strings.TrimRight(iu.Path, "/"), "/api/v4")
			path = strings.TrimPrefix(path, prefix)
		}
	} else if _, after, ok := strings.Cut(raw, ":"); ok && strings.Contains(raw, "@") {
		path = after
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	if !strings.Contains(path, "/") || strings.Contains(path, "//") || strings.Contains(path, "/-/") {
		return "", fmt.Errorf("repository url %s: want https://host/namespace/name", redactURL(raw))
	}
	return path, nil
}

// redactURL drops userinfo so a token in a URL never reaches an error.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	u.User = nil
	return u.String()
}
