package adofake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"time"
)

// Delivery is a service hook notification as Azure DevOps POSTs it to a
// Web Hooks subscription. Sending the same Delivery again plays a retry:
// its event id stays the same.
type Delivery struct {
	// ID is the event's id (the payload's top-level "id").
	ID        string
	EventType string
	Body      []byte
}

// Header is what Azure DevOps sends with the delivery: a JSON content type
// and, when secret is set, basic auth with secret as the password (what a
// subscription with "Basic authentication password" set sends; the user
// name is whatever the subscription names).
func (d Delivery) Header(secret string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", "VSServices/16.255.35101.2 (NetStandard; Linux 5.15.0.1064-azure)")
	if secret != "" {
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("azure-devops:"+secret)))
	}
	return h
}

// WithBody returns the delivery with another body (the same id).
func (d Delivery) WithBody(b []byte) Delivery {
	d.Body = b
	return d
}

// subscriptionID is the one Web Hooks subscription deliveries come from.
const subscriptionID = "7a8b9c0d-1e2f-4a5b-8c6d-7e8f9a0b1c2d"

// envelope wraps a resource in a notification; the caller holds s.mu.
func (s *Server) envelope(eventType, text, detail string, resource any, projectName string) Delivery {
	n := s.newID()
	id := guid(4, n)
	p := s.projectLocked(projectName)
	base := s.OrgURL() + "/"
	body, err := json.Marshal(map[string]any{
		"subscriptionId":  subscriptionID,
		"notificationId":  n,
		"id":              id,
		"eventType":       eventType,
		"publisherId":     "tfs",
		"message":         map[string]string{"text": text, "html": html.EscapeString(text), "markdown": text},
		"detailedMessage": map[string]string{"text": detail, "html": html.EscapeString(detail), "markdown": detail},
		"resource":        resource,
		"resourceVersion": "1.0",
		"resourceContainers": map[string]any{
			"collection": map[string]string{"id": guid(5, 1), "baseUrl": base},
			"account":    map[string]string{"id": guid(6, 1), "baseUrl": base},
			"project":    map[string]string{"id": p.id, "baseUrl": base},
		},
		"createdDate": adoTime(timeNow()),
	})
	if err != nil {
		panic(err)
	}
	return Delivery{ID: id, EventType: eventType, Body: body}
}

func (s *Server) links(w WorkItem) map[string]any {
	return map[string]any{
		"self":            map[string]string{"href": s.apiURL(w.Project, "wit/workItems/"+itoa(w.ID))},
		"workItemUpdates": map[string]string{"href": s.apiURL(w.Project, "wit/workItems/"+itoa(w.ID)+"/updates")},
		"html":            map[string]string{"href": s.webURL(w)},
	}
}

func headline(w WorkItem, verb string, by Identity, url string) string {
	return fmt.Sprintf("%s #%d (%s) %s by %s.\r\n(%s)", w.Type, w.ID, w.Title, verb, by.DisplayName, url)
}

// CreatedEvent is the workitem.created delivery for work item id as it is
// now.
func (s *Server) CreatedEvent(id int) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := snapshot(s.mustItem(id))
	resource := map[string]any{
		"id": w.ID, "rev": w.Rev, "fields": hookFields(w), "_links": s.links(w),
		"url": s.apiURL(w.Project, "wit/workItems/"+itoa(w.ID)),
	}
	h := headline(w, "created", w.CreatedBy, s.webURL(w))
	return s.envelope("workitem.created", h, h+"\r\n\r\n- State: "+w.State+"\r\n", resource, w.Project)
}

// updatedEvent is the workitem.updated delivery of the revision just made:
// resource.fields holds each changed field as oldValue/newValue,
// resource.revision.fields the work item after the update.
func (s *Server) updatedEvent(it *WorkItem, by Identity, before map[string]any) Delivery {
	w := snapshot(it)
	after := hookFields(w)
	changed := map[string]any{}
	keys := slices.Sorted(maps.Keys(after))
	for k := range before {
		if _, ok := after[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		old, hadOld := before[k]
		now, hasNew := after[k]
		if hadOld && hasNew && fmt.Sprint(old) == fmt.Sprint(now) {
			continue
		}
		c := map[string]any{}
		if hadOld {
			c["oldValue"] = old
		}
		if hasNew {
			c["newValue"] = now
		}
		changed[k] = c
	}
	resource := map[string]any{
		"id": w.Rev - 1, "workItemId": w.ID, "rev": w.Rev,
		"revisedBy":   s.identityRef(by),
		"revisedDate": "9999-01-01T00:00:00Z",
		"fields":      changed,
		"_links":      s.links(w),
		"url":         s.apiURL(w.Project, "wit/workItems/"+itoa(w.ID)+"/updates/"+itoa(w.Rev-1)),
		"revision": map[string]any{
			"id": w.ID, "rev": w.Rev, "fields": after,
			"url": s.apiURL(w.Project, "wit/workItems/"+itoa(w.ID)+"/revisions/"+itoa(w.Rev)),
		},
	}
	h := headline(w, "updated", by, s.webURL(w))
	return s.envelope("workitem.updated", h, h, resource, w.Project)
}

// CommentedEvent is the workitem.commented delivery for comment commentID
// of work item id: the work item's fields with the comment's HTML in
// System.History (Markdown comments rendered), and the comment's text in
// the detailed message.
func (s *Server) CommentedEvent(id, commentID int) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := snapshot(s.mustItem(id))
	i := slices.IndexFunc(w.Comments, func(c Comment) bool { return c.ID == commentID })
	if i < 0 {
		panic(fmt.Sprintf("adofake: no comment %d on work item %d", commentID, id))
	}
	c := w.Comments[i]
	rendered, plain := c.Text, c.Text
	if c.Format == "markdown" {
		rendered = renderMarkdown(c.Text)
	} else {
		plain = html.UnescapeString(tags.ReplaceAllString(c.Text, ""))
	}
	f := hookFields(w)
	f["System.History"] = rendered
	f["System.ChangedBy"] = hookIdentity(c.CreatedBy)
	f["System.ChangedDate"] = adoTime(c.CreatedDate)
	resource := map[string]any{
		"id": w.ID, "rev": w.Rev, "fields": f,
		"commentVersionRef": map[string]any{
			"commentId": c.ID, "version": c.Version,
			"url": s.apiURL(w.Project, "wit/workItems/"+itoa(w.ID)+"/comments/"+itoa(c.ID)+"/versions/"+itoa(c.Version)),
		},
		"_links": s.links(w),
		"url":    s.apiURL(w.Project, "wit/workItems/"+itoa(w.ID)),
	}
	h := headline(w, "commented on", c.CreatedBy, s.webURL(w))
	return s.envelope("workitem.commented", h, h+"\r\n"+plain, resource, w.Project)
}

// Event is a delivery of any other event type with the given resource, in
// projectName.
func (s *Server) Event(eventType, projectName string, resource any) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.envelope(eventType, eventType, eventType, resource, projectName)
}

var tags = regexp.MustCompile(`<[^>]*>`)

func timeNow() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
