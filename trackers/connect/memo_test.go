package connect_test

// This file is what a new tracker package holds, in miniature: memo, a
// tracker type agent-smith does not ship, with its own settings (keys,
// defaults, checks), a constructor, a webhook verifier and parser, a poller
// and the ticket writes. Its service lives in memory and stands in for the
// SaaS API a real package would call over HTTP. plugin_test.go registers it
// with one line in the table.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
)

const (
	memoType          = "memo"
	memoSignature     = "X-Memo-Signature"
	memoDelivery      = "X-Memo-Delivery"
	memoDefaultURL    = "https://memo.example"
	memoMaxPage       = 3
	memoConflictRetry = 5
)

// memoKind is memo as config reads it.
func memoKind() config.TrackerKind {
	return config.TrackerKind{Settings: func() config.TrackerSettings { return &memoSettings{} }}
}

// memoSettings are a memo tracker's own keys.
type memoSettings struct {
	// Team is the team whose members may instruct agent-smith in comments.
	Team string `json:"team"`
	// PageSize is how many tickets one list request asks for.
	PageSize int `json:"page_size"`
}

func (s *memoSettings) Default(b config.Block, t *config.Tracker) {
	config.Default(b, "url", &t.URL, memoDefaultURL)
	config.Default(b, "open_states", &t.OpenStates, []string{"open"})
	config.Default(b, "page_size", &s.PageSize, 50)
}

func (s *memoSettings) Validate(b config.Block, t *config.Tracker) {
	b.Required("team", s.Team)
	b.Required("auth", t.Auth)
	if s.PageSize < 1 {
		b.Fail("page_size", "must be at least 1, got %d", s.PageSize)
	}
}

// memoTracker is a memo board as a trackers.Tracker.
type memoTracker struct {
	name, url, board, token string
	svc                     *memoService
	settings                *memoSettings
	secret                  []byte
	triggerLabels           []string
	openStates              []string
}

// newMemo is memo's constructor, as connect.Entry wants it; svc is the
// service the tracker's url names.
func newMemo(svc *memoService) func(string, *config.Tracker, *config.Config) (trackers.Tracker, error) {
	return func(name string, t *config.Tracker, cfg *config.Config) (trackers.Tracker, error) {
		s, ok := t.Settings.(*memoSettings)
		if !ok {
			return nil, errors.New("not read by config: no memo settings")
		}
		token, err := cfg.Credential(t.Auth, "a memo API token")
		if err != nil {
			return nil, err
		}
		return &memoTracker{name: name, url: strings.TrimRight(t.URL, "/"), board: t.Project, token: token, svc: svc,
			settings: s, secret: []byte(t.WebhookSecret), triggerLabels: t.TriggerLabels, openStates: t.OpenStates}, nil
	}
}

func (m *memoTracker) Name() string { return m.name }
func (m *memoTracker) Type() string { return memoType }

func (m *memoTracker) VerifyWebhook(h http.Header, body []byte) error {
	if len(m.secret) == 0 {
		return trackers.ErrNoWebhookSecret
	}
	got, err := hex.DecodeString(h.Get(memoSignature))
	if err != nil || len(got) == 0 {
		return fmt.Errorf("%w: no %s", trackers.ErrUnauthorized, memoSignature)
	}
	if !hmac.Equal(got, memoSign(m.secret, body)) {
		return fmt.Errorf("%w: %s does not match", trackers.ErrUnauthorized, memoSignature)
	}
	return nil
}

func memoSign(secret, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return mac.Sum(nil)
}

// memoPayload is a webhook delivery's body.
type memoPayload struct {
	Event   string     `json:"event"`
	Label   string     `json:"label,omitempty"`
	Ticket  memoTicket `json:"ticket"`
	Comment *struct {
		ID     string `json:"id"`
		Author string `json:"author"`
		Team   string `json:"team"`
		Body   string `json:"body"`
	} `json:"comment,omitempty"`
}

func (m *memoTracker) KnownEvents() []string {
	return []string{"ticket.opened", "ticket.labeled", "ticket.unlabeled", "ticket.closed", "ticket.commented"}
}

func (m *memoTracker) ParseWebhook(h http.Header, body []byte) (trackers.Event, error) {
	var p memoPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return trackers.Event{}, fmt.Errorf("%w: %v", trackers.ErrBadPayload, err)
	}
	if p.Ticket.ID == "" {
		return trackers.Event{}, fmt.Errorf("%w: no ticket", trackers.ErrBadPayload)
	}
	ev := trackers.Event{DeliveryID: h.Get(memoDelivery), Kind: trackers.EventTicket, Name: "ticket." + p.Event, Ticket: m.ticket(p.Ticket)}
	switch {
	case p.Event == "labeled":
		if slices.Contains(m.triggerLabels, p.Label) {
			ev.Trigger = "label " + p.Label + " added"
		}
	case p.Event == "closed":
		ev.Withdrawn = trackers.Closed("")
	case p.Event == "unlabeled":
		ev.Withdrawn, ev.Ignore = trackers.Unlabeled("label", []string{p.Label}, ev.Ticket.Labels, func(l string) bool {
			return !trackers.IsLifecycleLabel(l) && slices.Contains(m.triggerLabels, l)
		})
	case p.Event == "commented" && p.Comment != nil:
		ev.Kind = trackers.EventComment
		ev.Comment = &trackers.Comment{ID: p.Comment.ID, Author: p.Comment.Author, Body: p.Comment.Body,
			Trusted: p.Comment.Team == m.settings.Team}
	default:
		ev.Ignore = "event " + p.Event + " is not work"
	}
	return ev, nil
}

func (m *memoTracker) ticket(mt memoTicket) trackers.Ticket {
	return trackers.Ticket{ID: mt.ID, Title: mt.Title, Body: mt.Body, State: mt.State, URL: m.url + "/" + m.board + "/" + mt.ID,
		Labels: slices.Clone(mt.Labels), Comments: slices.Clone(mt.Comments)}
}

func (m *memoTracker) Ticket(_ context.Context, id string) (trackers.Ticket, error) {
	mt, err := m.svc.get(m.token, id)
	if err != nil {
		return trackers.Ticket{}, err
	}
	return m.ticket(mt), nil
}

func (m *memoTracker) Candidates(context.Context) ([]trackers.Ticket, error) {
	var out []trackers.Ticket
	for cursor := 0; cursor >= 0; {
		page, next, err := m.svc.list(m.token, cursor, m.settings.PageSize)
		if err != nil {
			return nil, err
		}
		for _, mt := range page {
			if slices.Contains(m.openStates, mt.State) && !trackers.HasLifecycle(mt.Labels) &&
				slices.ContainsFunc(mt.Labels, func(l string) bool { return slices.Contains(m.triggerLabels, l) }) {
				out = append(out, m.ticket(mt))
			}
		}
		cursor = next
	}
	return out, nil
}

func (m *memoTracker) SetLifecycle(_ context.Context, id string, l trackers.Lifecycle) error {
	for range memoConflictRetry {
		mt, err := m.svc.get(m.token, id)
		if err != nil {
			return err
		}
		err = m.svc.setLabels(m.token, id, mt.Version, trackers.WithLifecycle(mt.Labels, l))
		if !errors.Is(err, errMemoConflict) {
			return err
		}
	}
	return fmt.Errorf("set lifecycle of %s: %w %d times", id, errMemoConflict, memoConflictRetry)
}

func (m *memoTracker) Comment(_ context.Context, id, body string) (string, error) {
	return m.svc.comment(m.token, id, body)
}

func (m *memoTracker) EditComment(_ context.Context, id, commentID, body string) error {
	return m.svc.editComment(m.token, id, commentID, body)
}

func (m *memoTracker) Complete(ctx context.Context, id, doneStatus, comment string) error {
	if doneStatus != "" {
		if err := m.svc.setState(m.token, id, doneStatus); err != nil {
			return err
		}
	}
	_, err := m.Comment(ctx, id, comment)
	return err
}

// memoTicket is a ticket as the service holds and sends it.
type memoTicket struct {
	ID       string             `json:"id"`
	Title    string             `json:"title"`
	Body     string             `json:"body"`
	State    string             `json:"state"`
	Labels   []string           `json:"labels"`
	Version  int                `json:"-"`
	Comments []trackers.Comment `json:"-"`
}

var errMemoConflict = errors.New("ticket changed since it was read")

// memoService is the in-memory memo API: tickets with versioned labels,
// pages of memoMaxPage, a token on every call.
type memoService struct {
	token string

	mu      sync.Mutex
	tickets []*memoTicket
	// race, when set for a ticket, is a label another client adds just
	// before the tracker's next label write on it is applied.
	race  map[string]string
	raced map[string]bool
}

func (s *memoService) find(token, id string) (*memoTicket, error) {
	if token != s.token {
		return nil, errors.New("memo: 401 bad token")
	}
	for _, mt := range s.tickets {
		if mt.ID == id {
			return mt, nil
		}
	}
	return nil, fmt.Errorf("ticket %s: %w", id, trackers.ErrNotFound)
}

func (s *memoService) get(token, id string) (memoTicket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mt, err := s.find(token, id)
	if err != nil {
		return memoTicket{}, err
	}
	out := *mt
	out.Labels, out.Comments = slices.Clone(mt.Labels), slices.Clone(mt.Comments)
	return out, nil
}

// list returns the page at cursor and the next cursor, -1 after the last.
func (s *memoService) list(token string, cursor, size int) ([]memoTicket, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != s.token {
		return nil, 0, errors.New("memo: 401 bad token")
	}
	end := min(cursor+min(size, memoMaxPage), len(s.tickets))
	var page []memoTicket
	for _, mt := range s.tickets[cursor:end] {
		c := *mt
		c.Labels = slices.Clone(mt.Labels)
		page = append(page, c)
	}
	if end == len(s.tickets) {
		return page, -1, nil
	}
	return page, end, nil
}

func (s *memoService) setLabels(token, id string, version int, labels []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mt, err := s.find(token, id)
	if err != nil {
		return err
	}
	if label, ok := s.race[id]; ok {
		delete(s.race, id)
		s.raced[id] = true
		mt.Labels = append(mt.Labels, label)
		mt.Version++
	}
	if version != mt.Version {
		return errMemoConflict
	}
	mt.Labels, mt.Version = slices.Clone(labels), mt.Version+1
	return nil
}

func (s *memoService) setState(token, id, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mt, err := s.find(token, id)
	if err == nil {
		mt.State = state
	}
	return err
}

func (s *memoService) comment(token, id, body string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mt, err := s.find(token, id)
	if err != nil {
		return "", err
	}
	cid := id + "-c" + strconv.Itoa(len(mt.Comments)+1)
	mt.Comments = append(mt.Comments, trackers.Comment{ID: cid, Author: "agent-smith", Body: body})
	return cid, nil
}

func (s *memoService) editComment(token, id, commentID, body string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mt, err := s.find(token, id)
	if err != nil {
		return err
	}
	for i := range mt.Comments {
		if mt.Comments[i].ID == commentID {
			mt.Comments[i].Body = body
			return nil
		}
	}
	return fmt.Errorf("comment %s: %w", commentID, trackers.ErrNotFound)
}
