package jirafake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Delivery is one webhook delivery: its event (the body's webhookEvent),
// its identifier (X-Atlassian-Webhook-Identifier, the same on every retry)
// and its JSON body.
type Delivery struct {
	Event string
	ID    string
	Body  []byte
	// Retry counts the retries of this delivery (0 on the first attempt).
	Retry int
}

// Header is the delivery's headers as Jira sends them. With a secret (a
// webhook registered with one) the body is signed in X-Hub-Signature;
// without one no signature header is sent.
func (d Delivery) Header(secret string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("User-Agent", "Atlassian Webhook HTTP Client")
	h.Set("X-Atlassian-Webhook-Identifier", d.ID)
	h.Set("X-Atlassian-Webhook-Flow", "Primary")
	if d.Retry > 0 {
		h.Set("X-Atlassian-Webhook-Retry", strconv.Itoa(d.Retry))
	}
	if secret != "" {
		h.Set("X-Hub-Signature", Sign(secret, d.Body))
	}
	return h
}

// Sign is the X-Hub-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Send posts the delivery to url, signed with secret, as Jira would.
func Send(ctx context.Context, client *http.Client, url, secret string, d Delivery) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return nil, fmt.Errorf("send %s delivery %s: %w", d.Event, d.ID, err)
	}
	req.Header = d.Header(secret)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("send %s delivery %s: %w", d.Event, d.ID, err)
	}
	return resp, nil
}

// Redelivery is the same delivery again, as Jira retries it after a
// failed attempt: same identifier, same body, the retry count up by one.
func (d Delivery) Redelivery() Delivery {
	return Delivery{Event: d.Event, ID: d.ID, Body: bytes.Clone(d.Body), Retry: d.Retry + 1}
}

// WithBody is the delivery with its body replaced, e.g. by one that does
// not parse.
func (d Delivery) WithBody(body []byte) Delivery {
	return Delivery{Event: d.Event, ID: d.ID, Body: body, Retry: d.Retry}
}

// Event is a delivery of any event with a body the test wrote.
func Event(name string, body []byte) Delivery {
	return Delivery{Event: name, ID: newIdentifier(), Body: body}
}

// ChangeItem is one entry of a jira:issue_updated changelog. From and To
// are ids (account ids for users), the String forms what people see; nil
// is JSON null.
type ChangeItem struct {
	Field, FieldType, FieldID string
	From, FromString          *string
	To, ToString              *string
}

// IssueCreated is the jira:issue_created delivery of an issue as it is now.
func (s *Server) IssueCreated(key string, by User) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(key)
	return s.delivery("jira:issue_created", "issue_created", is, s.known(by), nil, nil)
}

// IssueUpdated is a jira:issue_updated delivery of an issue as it is now,
// with the changelog items given.
func (s *Server) IssueUpdated(key string, by User, items ...ChangeItem) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(key)
	return s.delivery("jira:issue_updated", "issue_updated", is, s.known(by), items, nil)
}

// LabelAdded is the jira:issue_updated delivery of label having been added
// to the issue (which carries it now): a labels changelog item whose
// fromString and toString are the space-separated labels before and after.
func (s *Server) LabelAdded(key, label string, by User) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(key)
	before := slices.DeleteFunc(slices.Clone(is.labels), func(l string) bool { return l == label })
	item := ChangeItem{Field: "labels", FieldType: "jira", FieldID: "labels",
		FromString: ptr(strings.Join(before, " ")), ToString: ptr(strings.Join(is.labels, " "))}
	return s.delivery("jira:issue_updated", "issue_updated", is, s.known(by), []ChangeItem{item}, nil)
}

// LabelRemoved is the jira:issue_updated delivery of label having been
// taken off the issue (which no longer carries it): a labels changelog
// item like LabelAdded's.
func (s *Server) LabelRemoved(key, label string, by User) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(key)
	item := ChangeItem{Field: "labels", FieldType: "jira", FieldID: "labels",
		FromString: ptr(strings.Join(append(slices.Clone(is.labels), label), " ")), ToString: ptr(strings.Join(is.labels, " "))}
	return s.delivery("jira:issue_updated", "issue_updated", is, s.known(by), []ChangeItem{item}, nil)
}

// StatusChanged is the jira:issue_updated delivery (issue_generic, as a
// transition sends it) of the issue having moved from status from to the
// one it is in now: a status changelog item with the statuses' ids in
// from and to and their names in fromString and toString.
func (s *Server) StatusChanged(key, from string, by User) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(key)
	item := ChangeItem{Field: "status", FieldType: "jira", FieldID: "status",
		From: ptr(s.statusID(from)), FromString: ptr(from), To: ptr(s.statusID(is.status)), ToString: ptr(is.status)}
	return s.delivery("jira:issue_updated", "issue_generic", is, s.known(by), []ChangeItem{item}, nil)
}

// Assigned is the jira:issue_assigned-typed jira:issue_updated delivery of
// the issue's current assignee having been set (from previous, nil when it
// was unassigned).
func (s *Server) Assigned(key string, previous *User, by User) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.mustIssue(key)
	item := ChangeItem{Field: "assignee", FieldType: "jira", FieldID: "assignee"}
	if previous != nil {
		item.From, item.FromString = ptr(previous.AccountID), ptr(previous.DisplayName)
	}
	if is.assignee != nil {
		item.To, item.ToString = ptr(is.assignee.AccountID), ptr(is.assignee.DisplayName)
	}
	return s.delivery("jira:issue_updated", "issue_assigned", is, s.known(by), []ChangeItem{item}, nil)
}

// Commented is the jira:issue_updated delivery Jira sends when a comment
// is added (issue_event_type_name issue_commented): the whole issue and
// the comment. id is a comment AddComment (or the API) created.
func (s *Server) Commented(key, commentID string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, c := s.mustComment(key, commentID)
	return s.delivery("jira:issue_updated", "issue_commented", is, c.author, nil, c)
}

// CommentCreated is the comment_created delivery of a comment. As on Jira
// Cloud its issue is a summary: id, key and the fields summary, issuetype,
// project, assignee, priority and status only (no labels, no description).
func (s *Server) CommentCreated(key, commentID string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, c := s.mustComment(key, commentID)
	return s.encode("comment_created", map[string]any{
		"timestamp":    s.now().UnixMilli(),
		"webhookEvent": "comment_created",
		"comment":      s.wireComment(v2, is, c),
		"issue":        s.wireIssue(v2, is, []string{"summary", "issuetype", "project", "assignee", "priority", "status"}),
	})
}

func (s *Server) mustComment(key, id string) (*issue, *comment) {
	is := s.mustIssue(key)
	for _, c := range is.comments {
		if c.id == id {
			return is, c
		}
	}
	panic(fmt.Sprintf("jirafake: no comment %s on %s", id, key))
}

func (s *Server) delivery(event, typeName string, is *issue, by User, items []ChangeItem, c *comment) Delivery {
	payload := map[string]any{
		"timestamp":             s.now().UnixMilli(),
		"webhookEvent":          event,
		"issue_event_type_name": typeName,
		"user":                  s.wireUser(v2, by),
		"issue":                 s.wireIssue(v2, is, allFields),
	}
	if len(items) > 0 {
		wire := make([]map[string]any, 0, len(items))
		for _, it := range items {
			wire = append(wire, map[string]any{
				"field": it.Field, "fieldtype": it.FieldType, "fieldId": it.FieldID,
				"from": it.From, "fromString": it.FromString, "to": it.To, "toString": it.ToString,
			})
		}
		payload["changelog"] = map[string]any{"id": s.newID(), "items": wire}
	}
	if c != nil {
		payload["comment"] = s.wireComment(v2, is, c)
	}
	return s.encode(event, payload)
}

func (s *Server) encode(event string, payload any) Delivery {
	body, err := json.Marshal(payload)
	if err != nil {
		panic("jirafake: " + err.Error())
	}
	return Delivery{Event: event, ID: newIdentifier(), Body: body}
}

// newIdentifier is a fresh delivery identifier.
func newIdentifier() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func ptr(s string) *string { return &s }
