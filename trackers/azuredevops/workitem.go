package azuredevops

import (
	"bytes"
	"encoding/json"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/trackers"
)

// The work item fields agent-smith reads and writes.
const (
	fieldID           = "System.Id"
	fieldTitle        = "System.Title"
	fieldDescription  = "System.Description"
	fieldState        = "System.State"
	fieldTags         = "System.Tags"
	fieldAreaPath     = "System.AreaPath"
	fieldAssignedTo   = "System.AssignedTo"
	fieldTeamProject  = "System.TeamProject"
	fieldWorkItemType = "System.WorkItemType"
	fieldHistory      = "System.History"
	fieldChangedBy    = "System.ChangedBy"
	fieldChangedDate  = "System.ChangedDate"
)

// ticketFields are the fields a Ticket is made of; reads ask for only
// these, which keeps polling answers small.
var ticketFields = []string{fieldID, fieldTitle, fieldDescription, fieldState, fieldTags, fieldAreaPath,
	fieldAssignedTo, fieldTeamProject, fieldWorkItemType}

// workItem is a work item as the REST API returns it.
type workItem struct {
	ID     int    `json:"id"`
	Rev    int    `json:"rev"`
	Fields fields `json:"fields"`
	// MultilineFieldsFormat says which HTML fields hold Markdown instead
	// ("System.Description": "markdown").
	MultilineFieldsFormat map[string]string `json:"multilineFieldsFormat"`
}

// fields are work item field values by reference name. Values are decoded
// on use: their JSON types vary by field and, for identities, by API
// version.
type fields map[string]json.RawMessage

// str is a string field's value; "" when absent or not a string.
func (f fields) str(name string) string {
	var s string
	if raw, ok := f[name]; ok && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// person is an identity field's value.
func (f fields) person(name string) identity {
	var id identity
	if raw, ok := f[name]; ok {
		_ = json.Unmarshal(raw, &id)
	}
	return id
}

// identity is a user as Azure DevOps names one: an IdentityRef object in
// REST answers, a "Display Name <unique name>" string in service hook
// payloads.
type identity struct {
	// ID is the identity's id; service hook payloads, whose identity
	// fields are strings, have none.
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	UniqueName  string `json:"uniqueName"`
}

func (i *identity) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*i = parseIdentity(s)
		return nil
	}
	type plain identity
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*i = identity(p)
	return nil
}

// parseIdentity splits "Jamal Hartnett <fabrikamfiber4@hotmail.com>"; a
// string of another shape is the display name.
func parseIdentity(s string) identity {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, ">") {
		if open := strings.LastIndex(s, "<"); open > 0 {
			return identity{DisplayName: strings.TrimSpace(s[:open]), UniqueName: s[open+1 : len(s)-1]}
		}
	}
	if a, err := mail.ParseAddress(s); err == nil && a.Name == "" {
		return identity{DisplayName: a.Address, UniqueName: a.Address}
	}
	return identity{DisplayName: s}
}

// name is how a ticket shows the identity.
func (i identity) name() string {
	if i.DisplayName != "" {
		return i.DisplayName
	}
	return i.UniqueName
}

// splitTags reads System.Tags: tags separated by semicolons.
func splitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ";") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// joinTags writes System.Tags the way Azure DevOps itself does.
func joinTags(tags []string) string { return strings.Join(tags, "; ") }

// sameTags reports whether two tag lists hold the same tags; Azure DevOps
// compares tags without regard to case or order.
func sameTags(a, b []string) bool {
	norm := func(tags []string) []string {
		out := make([]string, len(tags))
		for i, t := range tags {
			out[i] = strings.ToLower(t)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

func hasTag(tags []string, tag string) bool {
	return slices.ContainsFunc(tags, func(t string) bool { return strings.EqualFold(t, tag) })
}

// ticketOf normalizes a work item's fields.
func (t *Tracker) ticketOf(id int, f fields, formats map[string]string) trackers.Ticket {
	body := f.str(fieldDescription)
	if !strings.EqualFold(formats[fieldDescription], "markdown") {
		body = htmlToText(body)
	}
	return trackers.Ticket{
		ID:       strconv.Itoa(id),
		Title:    f.str(fieldTitle),
		Body:     body,
		URL:      t.workItemURL(id),
		State:    f.str(fieldState),
		Labels:   splitTags(f.str(fieldTags)),
		AreaPath: f.str(fieldAreaPath),
		Assignee: f.person(fieldAssignedTo).name(),
	}
}

// workItemURL is the work item's page in the web UI.
func (t *Tracker) workItemURL(id int) string {
	return t.api.base + "/" + pathSegment(t.project) + "/_workitems/edit/" + strconv.Itoa(id)
}

// commentList is a page of the work item comments API.
type commentList struct {
	Comments          []commentWire `json:"comments"`
	ContinuationToken string        `json:"continuationToken"`
}

type commentWire struct {
	ID          int       `json:"id"`
	Text        string    `json:"text"`
	Format      string    `json:"format"`
	IsDeleted   bool      `json:"isDeleted"`
	CreatedBy   identity  `json:"createdBy"`
	CreatedDate time.Time `json:"createdDate"`
}

// comment normalizes a comment: its text as a person reads it, without
// agent-smith's mark. Every comment is trusted (only project members can
// comment); Own is decided by the author, self, and the mark together.
func (c commentWire) comment(self trackers.Identity) trackers.Comment {
	text := c.Text
	if !strings.EqualFold(c.Format, "markdown") {
		text = htmlToText(text)
	}
	return trackers.Comment{
		ID:        strconv.Itoa(c.ID),
		Author:    c.CreatedBy.name(),
		Body:      unmarkOwn(text),
		Trusted:   true,
		Own:       ownedBy(self, c.CreatedBy, text),
		CreatedAt: c.CreatedDate,
	}
}
