package jira

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/internal/account"
	"github.com/agent-smith/agent-smith/trackers/jira/internal/adf"
)

// Tracker is a Jira project's issues as a trackers.Tracker.
type Tracker struct {
	name          string
	api           *api
	site          string
	project       string
	secret        []byte
	triggerLabels []string
	openStates    []string
	// agentUsers are the names (display names or account ids) of the
	// agent user: assigning an issue to one of them triggers, and
	// their comments are agent-smith's own.
	agentUsers []string
	// closeTransition picks among several transitions into done_status.
	closeTransition string
	poll            pollState
	// self is the account the API token acts as.
	self *account.Account
}

var _ trackers.Tracker = (*Tracker)(nil)

// New builds the tracker called name from its config entry. The API token
// is the secret auth names in cfg; with email set it is sent with the
// email as basic auth, without as a bearer token. It makes no request.
func New(name string, t *config.Tracker, cfg *config.Config, opts ...Option) (*Tracker, error) {
	if t.Type != Type {
		return nil, fmt.Errorf("tracker %s is of type %s, not jira", name, t.Type)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	site := t.URL
	if o.baseURL != "" {
		site = o.baseURL
	}
	if err := checkSite(site); err != nil {
		return nil, fmt.Errorf("tracker %s: %w", name, err)
	}
	if t.Project == "" {
		return nil, fmt.Errorf("tracker %s: no project: set it to the Jira project key", name)
	}
	token, err := cfg.Credential(t.Auth, "a Jira API token")
	if err != nil {
		return nil, fmt.Errorf("tracker %s: %w", name, err)
	}
	settings := settingsOf(t)
	authorization := "Bearer " + token
	if settings.Email != "" {
		authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(settings.Email+":"+token))
	}
	client := http.DefaultClient
	if o.httpClient != nil {
		client = o.httpClient
	}
	site = strings.TrimRight(site, "/")
	maxWait := o.maxWait
	if maxWait <= 0 {
		maxWait = defaultMaxWait
	}
	tr := &Tracker{
		name: name,
		api:  newAPI(site, client, authorization, maxWait),
		site: site, project: strings.ToUpper(t.Project), secret: []byte(t.WebhookSecret),
		triggerLabels: slices.Clone(t.TriggerLabels), openStates: slices.Clone(t.OpenStates),
		agentUsers: agentUsers(name, settings, cfg), closeTransition: settings.CloseTransitionName,
	}
	tr.self = account.New(tr.learnSelf)
	return tr, nil
}

// checkSite refuses site URLs that are not http(s) or that carry
// credentials, which would otherwise end up in errors and logs.
func checkSite(site string) error {
	u, err := url.Parse(site)
	switch {
	case site == "":
		return errors.New("no url: set it to the Jira site, e.g. https://acme.atlassian.net")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return fmt.Errorf("url %q is not an http(s) URL of a Jira site", site)
	case u.User != nil:
		return errors.New("url carries credentials: put the API token in a secret named by auth")
	}
	return nil
}

// agentUsers collects the tracker's agent_user and the assignee_name of
// the trigger block of every project on this tracker.
func agentUsers(name string, s *Settings, cfg *config.Config) []string {
	var out []string
	add := func(u string) {
		if u != "" && !containsFold(out, u) {
			out = append(out, u)
		}
	}
	add(s.AgentUser)
	for _, p := range cfg.ProjectsForTracker(name) {
		if trig := cfg.Projects[p].Trigger(); trig != nil {
			if ts, ok := trig.Settings.(*TriggerSettings); ok {
				add(ts.AssigneeName)
			}
		}
	}
	return out
}

// Name is the tracker's key in agentsmith.yml.
func (t *Tracker) Name() string { return t.name }

// Type is "jira".
func (t *Tracker) Type() string { return Type }

// Ticket reads an issue with its labels, status and every comment.
func (t *Tracker) Ticket(ctx context.Context, id string) (trackers.Ticket, error) {
	key, err := issueRef(id)
	if err != nil {
		return trackers.Ticket{}, err
	}
	var is issueJSON
	err = t.api.do(ctx, "get issue "+key, request{method: http.MethodGet, path: "/issue/" + key,
		query: url.Values{"fields": {strings.Join(issueFieldList, ",")}}, idempotent: true}, &is)
	if err != nil {
		return trackers.Ticket{}, notFound(err)
	}
	comments, err := t.comments(ctx, key)
	if err != nil {
		return trackers.Ticket{}, err
	}
	self, err := t.Self(ctx)
	if err != nil {
		return trackers.Ticket{}, fmt.Errorf("read issue %s: %w", key, err)
	}
	return t.ticketOf(is, comments, self), nil
}

// commentPage is the size of the comment pages agent-smith asks for.
const commentPage = 100

func (t *Tracker) comments(ctx context.Context, key string) ([]commentJSON, error) {
	var all []commentJSON
	for {
		var page struct {
			StartAt  int           `json:"startAt"`
			Total    int           `json:"total"`
			Comments []commentJSON `json:"comments"`
		}
		q := url.Values{"startAt": {strconv.Itoa(len(all))}, "maxResults": {strconv.Itoa(commentPage)}, "orderBy": {"created"}}
		err := t.api.do(ctx, fmt.Sprintf("list comments of issue %s (from %d)", key, len(all)),
			request{method: http.MethodGet, path: "/issue/" + key + "/comment", query: q, idempotent: true}, &page)
		if err != nil {
			return nil, notFound(err)
		}
		all = append(all, page.Comments...)
		if len(page.Comments) == 0 || len(all) >= page.Total {
			return all, nil
		}
	}
}

// commentBody is the request body of a new or edited comment.
type commentBody struct {
	Body adf.Node `json:"body"`
}

// Comment posts a comment (plain text, sent as ADF) and returns its id.
func (t *Tracker) Comment(ctx context.Context, id, body string) (string, error) {
	key, err := issueRef(id)
	if err != nil {
		return "", err
	}
	var c commentJSON
	err = t.api.do(ctx, "comment on issue "+key, request{method: http.MethodPost, path: "/issue/" + key + "/comment",
		body: commentBody{Body: adf.FromText(body)}}, &c)
	if err != nil {
		return "", notFound(err)
	}
	return c.ID, nil
}

// EditComment replaces the body of a comment (the run's status comment).
func (t *Tracker) EditComment(ctx context.Context, id, commentID, body string) error {
	key, err := issueRef(id)
	if err != nil {
		return err
	}
	if !idPattern.MatchString(commentID) {
		return fmt.Errorf("edit comment %q on issue %s: not a Jira comment id: %w", commentID, key, trackers.ErrNotFound)
	}
	err = t.api.do(ctx, fmt.Sprintf("edit comment %s on issue %s", commentID, key), request{method: http.MethodPut,
		path: "/issue/" + key + "/comment/" + commentID, body: commentBody{Body: adf.FromText(body)}, idempotent: true}, nil)
	return notFound(err)
}

// notFound marks a 404 from Jira with trackers.ErrNotFound.
func notFound(err error) error {
	if err != nil && statusOf(err) == http.StatusNotFound {
		return fmt.Errorf("%w: %w", trackers.ErrNotFound, err)
	}
	return err
}
