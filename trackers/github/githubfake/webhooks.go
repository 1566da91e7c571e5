package githubfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
)

// Delivery is one webhook delivery: its event name (X-GitHub-Event), its
// id (X-GitHub-Delivery, the same on a redelivery) and its JSON body.
type Delivery struct {
	Event string
	ID    string
	Body  []byte
}

// Header is the delivery's headers as GitHub sends them. With a secret the
// body is signed in X-Hub-Signature-256 (and the legacy SHA-1
// X-Hub-Signature); without one no signature header is sent.
func (d Delivery) Header(secret string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitHub-Hookshot/7a3f2c1")
	h.Set("X-GitHub-Event", d.Event)
	h.Set("X-GitHub-Delivery", d.ID)
	h.Set("X-GitHub-Hook-ID", "4242")
	h.Set("X-GitHub-Hook-Installation-Target-Type", "repository")
	h.Set("X-GitHub-Hook-Installation-Target-ID", "1001")
	if secret != "" {
		h.Set("X-Hub-Signature-256", Sign(secret, d.Body))
		mac := hmac.New(sha1.New, []byte(secret))
		mac.Write(d.Body)
		h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(mac.Sum(nil)))
	}
	return h
}

// Sign is the X-Hub-Signature-256 value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Send posts the delivery to url, signed with secret, as GitHub would.
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

// NewDeliveryID is a fresh GUID like GitHub's delivery ids.
func NewDeliveryID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// IssuesEvent is an `issues` delivery about issue number as it is now:
// action opened, labeled, unlabeled, reopened, closed, edited, …; label
// names the label of a labeled/unlabeled action. sender did it.
func (s *Server) IssuesEvent(fullName string, number int, action, labelName string, sender User) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	payload := map[string]any{
		"action":     action,
		"issue":      s.wireIssue(rp, s.mustIssue(rp, number)),
		"repository": s.wireRepo(rp),
		"sender":     s.user(sender),
	}
	if labelName != "" {
		payload["label"] = s.wireLabel(rp, s.repoLabel(rp, labelName))
	}
	return delivery("issues", payload)
}

// IssueCommentEvent is an `issue_comment` delivery (action created,
// edited or deleted) about comment id, which AddComment created.
func (s *Server) IssueCommentEvent(fullName string, commentID int64, action string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	c, ok := rp.comments[commentID]
	if !ok {
		panic(fmt.Sprintf("githubfake: no comment %d in %s", commentID, fullName))
	}
	return delivery("issue_comment", map[string]any{
		"action":     action,
		"issue":      s.wireIssue(rp, rp.issues[c.issue]),
		"comment":    s.wireComment(rp, c),
		"repository": s.wireRepo(rp),
		"sender":     s.user(c.author),
	})
}

// PingEvent is the `ping` delivery GitHub sends when a webhook is created.
func (s *Server) PingEvent() Delivery {
	return delivery("ping", map[string]any{
		"zen":     "Design for failure.",
		"hook_id": 4242,
		"hook": map[string]any{
			"type": "Repository", "id": 4242, "name": "web", "active": true,
			"events": []string{"issues", "issue_comment"},
			"config": map[string]any{"content_type": "json", "insecure_ssl": "0", "url": "https://agent-smith.example/webhooks/github"},
		},
	})
}

// Event is a delivery of any event name with a body the test wrote.
func Event(name string, body []byte) Delivery {
	return Delivery{Event: name, ID: NewDeliveryID(), Body: body}
}

func delivery(event string, payload any) Delivery {
	body, err := json.Marshal(payload)
	if err != nil {
		panic("githubfake: " + err.Error())
	}
	return Delivery{Event: event, ID: NewDeliveryID(), Body: body}
}

// Redelivery is the same delivery again, as "Redeliver" in GitHub's UI
// sends it: same id, same body.
func (d Delivery) Redelivery() Delivery {
	return Delivery{Event: d.Event, ID: d.ID, Body: bytes.Clone(d.Body)}
}

// WithBody is the delivery with its body replaced, e.g. by one that does
// not parse.
func (d Delivery) WithBody(body []byte) Delivery {
	return Delivery{Event: d.Event, ID: d.ID, Body: body}
}
