package adofake

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// adoTime formats a date the way Azure DevOps does.
func adoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z") }

func itoa(n int) string { return strconv.Itoa(n) }

// identityRef is an identity as REST answers carry it.
func (s *Server) identityRef(i Identity) map[string]any {
	avatar := s.OrgURL() + "/_apis/GraphProfile/MemberAvatars/aad." + i.ID
	return map[string]any{
		"displayName": i.DisplayName,
		"url":         "https://spsprodweu5.vssps.visualstudio.com/_apis/Identities/" + i.ID,
		"_links":      map[string]any{"avatar": map[string]string{"href": avatar}},
		"id":          i.ID,
		"uniqueName":  i.UniqueName,
		"imageUrl":    avatar,
		"descriptor":  "aad." + i.ID,
	}
}

// hookIdentity is an identity as service hook payloads (resource version
// 1.0) carry it in fields.
func hookIdentity(i Identity) string { return i.DisplayName + " <" + i.UniqueName + ">" }

// fieldValues are a work item's field values by reference name; fields
// without a value are left out, as Azure DevOps leaves them out.
func fieldValues(w WorkItem, identity func(Identity) any) map[string]any {
	f := map[string]any{
		"System.Id":            w.ID,
		"System.Rev":           w.Rev,
		"System.AreaPath":      w.AreaPath,
		"System.TeamProject":   w.Project,
		"System.IterationPath": w.Project,
		"System.WorkItemType":  w.Type,
		"System.State":         w.State,
		"System.CreatedDate":   adoTime(w.CreatedDate),
		"System.CreatedBy":     identity(w.CreatedBy),
		"System.ChangedDate":   adoTime(w.ChangedDate),
		"System.ChangedBy":     identity(w.ChangedBy),
		"System.CommentCount":  commentCount(w),
		"System.Title":         w.Title,
	}
	if w.AssignedTo != nil {
		f["System.AssignedTo"] = identity(*w.AssignedTo)
	}
	if w.Description != "" {
		f["System.Description"] = w.Description
	}
	if len(w.Tags) > 0 {
		f["System.Tags"] = strings.Join(w.Tags, "; ")
	}
	return f
}

func commentCount(w WorkItem) int {
	n := 0
	for _, c := range w.Comments {
		if !c.Deleted {
			n++
		}
	}
	return n
}

func hookFields(w WorkItem) map[string]any {
	return fieldValues(w, func(i Identity) any { return hookIdentity(i) })
}

// workItemJSON is a work item as the REST API answers it, with only the
// fields named in only (all when empty).
func (s *Server) workItemJSON(w WorkItem, only []string) map[string]any {
	all := fieldValues(w, func(i Identity) any { return s.identityRef(i) })
	fields := all
	if len(only) > 0 {
		fields = map[string]any{}
		for _, name := range only {
			for k, v := range all {
				if strings.EqualFold(k, name) {
					fields[k] = v
				}
			}
		}
	}
	out := map[string]any{
		"id":     w.ID,
		"rev":    w.Rev,
		"fields": fields,
		"url":    s.apiURL(w.Project, "wit/workItems/"+itoa(w.ID)),
	}
	if w.DescriptionMarkdown {
		out["multilineFieldsFormat"] = map[string]string{"System.Description": "markdown"}
	}
	return out
}

func (s *Server) commentJSON(w WorkItem, c Comment) map[string]any {
	rendered := c.Text
	if c.Format == "markdown" {
		rendered = renderMarkdown(c.Text)
	}
	return map[string]any{
		"workItemId":   w.ID,
		"id":           c.ID,
		"version":      c.Version,
		"text":         c.Text,
		"renderedText": rendered,
		"format":       c.Format,
		"createdBy":    s.identityRef(c.CreatedBy),
		"createdDate":  adoTime(c.CreatedDate),
		"modifiedBy":   s.identityRef(c.CreatedBy),
		"modifiedDate": adoTime(c.ModifiedDate),
		"isDeleted":    c.Deleted,
		"url":          s.apiURL(w.Project, "wit/workItems/"+itoa(w.ID)+"/comments/"+itoa(c.ID)),
	}
}

// apiURL is the REST URL of a resource in a project.
func (s *Server) apiURL(projectName, rest string) string {
	return s.OrgURL() + "/" + pathEscape(projectName) + "/_apis/" + rest
}

// webURL is a work item's page in the web UI.
func (s *Server) webURL(w WorkItem) string {
	return s.OrgURL() + "/" + pathEscape(w.Project) + "/_workitems/edit/" + itoa(w.ID)
}

func pathEscape(s string) string { return url.PathEscape(s) }

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// connectionData is GET {organization}/_apis/connectionData: who the
// token authenticates as (authenticatedUser; the same as authorizedUser
// without impersonation), with the account's unique name in
// properties.Account.
func (s *Server) connectionData(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	who, _ := s.callerLocked(r)
	s.mu.Unlock()
	user := map[string]any{
		"id":                  who.ID,
		"descriptor":          "Microsoft.IdentityModel.Claims.ClaimsIdentity;72f988bf-86f1-41af-91ab-2d7cd011db47\\" + who.UniqueName,
		"subjectDescriptor":   "aad." + who.ID,
		"providerDisplayName": who.DisplayName,
		"isActive":            true,
		"properties": map[string]any{
			"Account": map[string]string{"$type": "System.String", "$value": who.UniqueName},
		},
		"resourceVersion": 2,
		"metaTypeId":      0,
	}
	s.reply(w, http.StatusOK, map[string]any{
		"authenticatedUser": user,
		"authorizedUser":    user,
		"instanceId":        guid(1, 7),
		"deploymentId":      guid(2, 7),
		"deploymentType":    "hosted",
		"locationServiceData": map[string]any{
			"serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7", "defaultAccessMappingMoniker": "PublicAccessMapping",
			"lastChangeId": 1, "lastChangeId64": 1,
		},
	})
}
