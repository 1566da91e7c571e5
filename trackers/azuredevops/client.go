package azuredevops

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/internal/retry"
)

// Option adjusts a Tracker or RepoHost.
type Option func(*options)

type options struct {
	httpClient *http.Client
	baseURL    string
	maxWait    time.Duration
	pageSize   int
}

// WithHTTPClient sends API requests through c (tests: the fake's client;
// production: a client with proxy or TLS settings).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithBaseURL replaces the organization (or collection) URL the REST API
// is called at.
func WithBaseURL(u string) Option { return func(o *options) { o.baseURL = u } }

// WithMaxRateLimitWait caps how long one call waits out a rate limit before
// it gives up with the error (default 5 minutes).
func WithMaxRateLimitWait(d time.Duration) Option { return func(o *options) { o.maxWait = d } }

// WithPageSize sets how many work items one polling query and one batch
// read ask for (default and maximum 200, the batch API's limit).
func WithPageSize(n int) Option { return func(o *options) { o.pageSize = n } }

const (
	// apiVersion is the REST version every call asks for; comments are
	// still a preview resource in it.
	apiVersion         = "7.1"
	commentsAPIVersion = "7.1-preview.4"

	defaultMaxWait  = 5 * time.Minute
	maxPageSize     = 200
	requestTimeout  = 30 * time.Second
	maxAttempts     = 5
	maxResponseSize = 32 << 20
)

// api calls one organization's (or collection's) REST API with a personal
// access token; calls go through the embedded Caller, which retries as
// backoff decides and is paused by every Retry-After Azure DevOps sends,
// on a delayed answer as on a blocked one, so concurrent callers do not
// deepen the throttling. It is safe for concurrent use.
type api struct {
	*retry.Caller
	base string
	auth string
	hc   *http.Client
}

func newAPI(base, token string, o options) (*api, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("api url %s: want the https organization or collection URL", redactURL(base))
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	hc := o.httpClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &api{
		Caller: retry.New(retry.Policy{Tracker: "Azure DevOps", Attempts: maxAttempts, MaxWait: cmp.Or(o.maxWait, defaultMaxWait), Decide: backoff}),
		base:   strings.TrimRight(u.String(), "/"),
		// A personal access token is the password of basic auth; the user
		// name is ignored.
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+token)),
		hc:   hc,
	}, nil
}

// call is one REST request.
type call struct {
	// what names the call in errors and logs.
	what   string
	method string
	// path is below the organization URL, already escaped, without query.
	path  string
	query url.Values
	// version is the api-version; apiVersion when empty.
	version string
	body    any
	// patch sends body as application/json-patch+json.
	patch bool
	// idempotent calls are retried after server errors and lost
	// connections; others only when Azure DevOps refused them unprocessed.
	idempotent bool
}

// apiError is an answer outside 2xx.
type apiError struct {
	Status int
	// Message and TypeKey are from Azure DevOps' error body, when it has one.
	Message string
	TypeKey string
	header  http.Header
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("Azure DevOps answered %d: %s", e.Status, msg)
}

// statusOf is the HTTP status of a failed call, 0 when it has none.
func statusOf(err error) int {
	if ae, ok := errors.AsType[*apiError](err); ok {
		return ae.Status
	}
	return 0
}

// notFound marks a 404 with trackers.ErrNotFound.
func notFound(err error) error {
	if err != nil && statusOf(err) == http.StatusNotFound {
		return fmt.Errorf("%w: %w", trackers.ErrNotFound, err)
	}
	return err
}

// errSignIn is Azure DevOps answering a request it did not authenticate
// with a sign-in page instead of a 401.
var errSignIn = errors.New("answered with a sign-in page (203): Azure DevOps did not accept the personal access token (missing, expired or revoked?)")

// do sends c, retrying as backoff decides, and decodes a 2xx answer into
// out (when not nil).
func (a *api) do(ctx context.Context, c call, out any) error {
	var body []byte
	if c.body != nil {
		var err error
		if body, err = json.Marshal(c.body); err != nil {
			return fmt.Errorf("%s: encode request: %w", c.what, err)
		}
	}
	var raw []byte
	err := a.Call(ctx, c.what, c.idempotent, func(ctx context.Context) error {
		var header http.Header
		var err error
		if raw, header, err = a.send(ctx, c, body); err == nil {
			a.honourDelay(header)
		}
		return err
	})
	if err != nil || out == nil || len(raw) == 0 {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", c.what, err)
	}
	return nil
}

// send makes one HTTP exchange and returns the body of a 2xx answer.
func (a *api) send(ctx context.Context, c call, body []byte) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	q := url.Values{}
	for k, v := range c.query {
		q[k] = v
	}
	q.Set("api-version", cmp.Or(c.version, apiVersion))
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, a.base+c.path+"?"+q.Encode(), rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", a.auth)
	req.Header.Set("Accept", "application/json")
	// Without it an unauthenticated request is redirected to a sign-in
	// page (203) instead of failing with 401.
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	if body != nil {
		ct := "application/json"
		if c.patch {
			ct = "application/json-patch+json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize))
	if err != nil {
		return nil, nil, err
	}
	if err := answerError(resp.StatusCode, resp.Header, raw); err != nil {
		return nil, resp.Header, err
	}
	return raw, resp.Header, nil
}

// answerError classifies an answer: nil for a usable 2xx, errSignIn for
// the sign-in page, else an *apiError with Azure DevOps' message.
func answerError(status int, h http.Header, raw []byte) error {
	switch {
	case status == http.StatusNonAuthoritativeInfo:
		return errSignIn
	case status >= 200 && status < 300:
		return nil
	}
	ae := &apiError{Status: status, header: h}
	var wire struct {
		Message string `json:"message"`
		TypeKey string `json:"typeKey"`
	}
	if json.Unmarshal(raw, &wire) == nil {
		ae.Message, ae.TypeKey = wire.Message, wire.TypeKey
	}
	return ae
}

// tokenFor reads the personal access token the secret named by auth holds.
func tokenFor(what, auth string, cfg *config.Config) (string, error) {
	tok, err := cfg.Credential(auth, "an Azure DevOps personal access token")
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return tok, nil
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
