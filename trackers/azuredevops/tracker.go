package azuredevops

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/internal/account"
)

// Tracker is an Azure DevOps project's work items as a trackers.Tracker.
type Tracker struct {
	name        string
	api         *api
	project     string
	secret      []byte
	triggerTags []string
	openStates  []string
	pageSize    int
	// self is the account the token acts as.
	self *account.Account
}

var _ trackers.Tracker = (*Tracker)(nil)

// New builds the tracker called name from its config entry: the REST API
// at its url (the organization URL https://dev.azure.com/{organization},
// or an Azure DevOps Server collection URL), its project, the personal
// access token the secret named by auth holds. It makes no request.
func New(name string, t *config.Tracker, cfg *config.Config, opts ...Option) (*Tracker, error) {
	if t.Type != Type {
		return nil, fmt.Errorf("tracker %s is of type %s, not azure_devops", name, t.Type)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if t.Project == "" {
		return nil, fmt.Errorf("tracker %s: no project: name the Azure DevOps project that holds the work items", name)
	}
	tok, err := tokenFor("tracker "+name, t.Auth, cfg)
	if err != nil {
		return nil, err
	}
	base := cmp.Or(o.baseURL, t.URL)
	if org := settingsOf(t).Organization; base == "" && org != "" {
		base = orgURL(org)
	}
	a, err := newAPI(base, tok, o)
	if err != nil {
		return nil, fmt.Errorf("tracker %s: %w", name, err)
	}
	return &Tracker{
		name: name, api: a, project: t.Project, secret: []byte(t.WebhookSecret),
		triggerTags: append([]string(nil), t.TriggerLabels...),
		openStates:  append([]string(nil), t.OpenStates...),
		pageSize:    min(cmp.Or(o.pageSize, maxPageSize), maxPageSize),
		self:        account.New(a.learnSelf),
	}, nil
}

// Name is the tracker's key in agentsmith.yml.
func (t *Tracker) Name() string { return t.name }

// Type is "azure_devops".
func (t *Tracker) Type() string { return Type }

// projectPath is the project's segment of API paths.
func (t *Tracker) projectPath() string { return "/" + pathSegment(t.project) }

func pathSegment(s string) string { return url.PathEscape(s) }

// workItemID parses a ticket id; anything but a positive number names no
// work item.
func workItemID(id string) (int, error) {
	n, err := strconv.Atoi(id)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a work item id: %w", id, trackers.ErrNotFound)
	}
	return n, nil
}

// getWorkItem reads a work item's ticket fields (and its revision), and
// refuses one of another project: work item ids are unique across the
// organization, so an id alone could name any project's item.
func (t *Tracker) getWorkItem(ctx context.Context, id int) (workItem, error) {
	var wi workItem
	err := t.api.do(ctx, call{
		what: fmt.Sprintf("get work item %d", id), method: "GET", idempotent: true,
		path:  t.projectPath() + "/_apis/wit/workitems/" + strconv.Itoa(id),
		query: url.Values{"fields": {strings.Join(ticketFields, ",")}},
	}, &wi)
	if err != nil {
		return workItem{}, notFound(err)
	}
	if p := wi.Fields.str(fieldTeamProject); p != "" && !strings.EqualFold(p, t.project) {
		return workItem{}, fmt.Errorf("work item %d belongs to project %s, not %s: %w", id, p, t.project, trackers.ErrNotFound)
	}
	return wi, nil
}

// Ticket reads a work item with its tags, state and every comment.
func (t *Tracker) Ticket(ctx context.Context, id string) (trackers.Ticket, error) {
	n, err := workItemID(id)
	if err != nil {
		return trackers.Ticket{}, err
	}
	wi, err := t.getWorkItem(ctx, n)
	if err != nil {
		return trackers.Ticket{}, err
	}
	self, err := t.Self(ctx)
	if err != nil {
		return trackers.Ticket{}, fmt.Errorf("read work item %d: %w", n, err)
	}
	tk := t.ticketOf(wi.ID, wi.Fields, wi.MultilineFieldsFormat)
	if tk.Comments, err = t.comments(ctx, n, self); err != nil {
		return trackers.Ticket{}, err
	}
	return tk, nil
}

// commentsPageSize is the largest page the comments API serves.
const commentsPageSize = 200

// comments reads every comment of a work item, oldest first, following
// the continuation token from page to page.
func (t *Tracker) comments(ctx context.Context, id int, self trackers.Identity) ([]trackers.Comment, error) {
	var out []trackers.Comment
	token := ""
	for page := 1; ; page++ {
		q := url.Values{"$top": {strconv.Itoa(commentsPageSize)}, "order": {"asc"}}
		if token != "" {
			q.Set("continuationToken", token)
		}
		var list commentList
		err := t.api.do(ctx, call{
			what: fmt.Sprintf("list comments of work item %d (page %d)", id, page), method: "GET", idempotent: true,
			path: t.commentsPath(id), query: q, version: commentsAPIVersion,
		}, &list)
		if err != nil {
			return nil, notFound(err)
		}
		for _, c := range list.Comments {
			if !c.IsDeleted {
				out = append(out, c.comment(self))
			}
		}
		if list.ContinuationToken == "" || list.ContinuationToken == token {
			return out, nil
		}
		token = list.ContinuationToken
	}
}

func (t *Tracker) commentsPath(id int) string {
	return t.projectPath() + "/_apis/wit/workItems/" + strconv.Itoa(id) + "/comments"
}

// Comment posts a Markdown comment and returns its id. The comment carries
// agent-smith's mark: the token is usually a person's, and the mark tells
// that person's comments from agent-smith's (Own needs both the author
// and the mark).
func (t *Tracker) Comment(ctx context.Context, id, body string) (string, error) {
	n, err := workItemID(id)
	if err != nil {
		return "", err
	}
	var c commentWire
	err = t.api.do(ctx, call{
		what: "comment on work item " + id, method: "POST", path: t.commentsPath(n),
		query: url.Values{"format": {"markdown"}}, version: commentsAPIVersion,
		body: map[string]string{"text": markOwn(body)},
	}, &c)
	if err != nil {
		return "", notFound(err)
	}
	return strconv.Itoa(c.ID), nil
}

// EditComment replaces the text of a comment Comment returned (the run's
// status comment).
func (t *Tracker) EditComment(ctx context.Context, id, commentID, body string) error {
	n, err := workItemID(id)
	if err != nil {
		return err
	}
	cid, err := strconv.Atoi(commentID)
	if err != nil || cid <= 0 {
		return fmt.Errorf("edit comment %q on work item %s: not a comment id: %w", commentID, id, trackers.ErrNotFound)
	}
	err = t.api.do(ctx, call{
		what: fmt.Sprintf("edit comment %d on work item %s", cid, id), method: "PATCH", idempotent: true,
		path:  t.commentsPath(n) + "/" + strconv.Itoa(cid),
		query: url.Values{"format": {"markdown"}}, version: commentsAPIVersion,
		body: map[string]string{"text": markOwn(body)},
	}, nil)
	return notFound(err)
}
