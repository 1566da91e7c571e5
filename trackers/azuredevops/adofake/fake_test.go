package adofake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestWIQLSelectsWhatAzureDevOpsWould(t *testing.T) {
	items := []WorkItem{
		{ID: 1, Project: "Platform", State: "New", Tags: []string{"agent-smith"}, AreaPath: `Platform\TodoList`},
		{ID: 2, Project: "Platform", State: "Active", Tags: []string{"agent-smith", "agent-smith:done"}, AreaPath: `Platform\TodoList\Api`},
		{ID: 3, Project: "Platform", State: "Closed", Tags: []string{"agent-smith"}, AreaPath: `Platform\TodoListLegacy`},
		{ID: 4, Project: "Billing", State: "New", Tags: []string{"agent-smith-later", "it's"}, AreaPath: "Billing"},
	}
	cases := []struct {
		query string
		want  []int
	}{
		{"SELECT [System.Id] FROM WorkItems", []int{1, 2, 3, 4}},
		{"select [System.Id], [System.Title] from workitems where [System.TeamProject] = @project", []int{1, 2, 3}},
		{"SELECT [System.Id] FROM WorkItems WHERE [System.State] IN ('new', 'Active')", []int{1, 2, 4}},
		{"SELECT [System.Id] FROM WorkItems WHERE [System.Tags] CONTAINS 'agent-smith'", []int{1, 2, 3}},
		{"SELECT [System.Id] FROM WorkItems WHERE [System.Tags] NOT CONTAINS 'agent-smith:done' AND [System.Id] > 1", []int{3, 4}},
		{"SELECT [System.Id] FROM WorkItems WHERE [System.Tags] CONTAINS 'it''s'", []int{4}},
		{"SELECT [System.Id] FROM WorkItems WHERE [System.AreaPath] UNDER 'Platform\\TodoList'", []int{1, 2}},
		{"SELECT [System.Id] FROM WorkItems WHERE ([System.State] = 'Closed' OR [System.Id] <= 1) AND [System.State] <> 'New'", []int{3}},
		{"SELECT [System.Id] FROM WorkItems WHERE [System.Title] CONTAINS '' ORDER BY [System.Id] DESC", []int{4, 3, 2, 1}},
	}
	for _, tc := range cases {
		q, err := parseWIQL(tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		var got []int
		for _, w := range items {
			ok, err := q.where.eval(w, "Platform")
			if err != nil {
				t.Fatalf("%s: %v", tc.query, err)
			}
			if ok {
				got = append(got, w.ID)
			}
		}
		if q.desc {
			slices.Reverse(got)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s\n  selected %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestWIQLOutsideWhatTheFakeKnowsIsRefused(t *testing.T) {
	for _, q := range []string{
		"SELECT [System.Id] FROM WorkItemLinks",
		"SELECT [System.Id] FROM WorkItems WHERE [System.State] = ",
		"SELECT [System.Id] FROM WorkItems WHERE [System.State] = 'New' ORDER BY [System.ChangedDate]",
		"SELECT [System.Id] FROM WorkItems WHERE [System.Tags] CONTAINS 'x' ASOF '2026-01-01'",
		"SELECT [System.Id] FROM WorkItems WHERE [System.State] = @me",
		"SELECT [System.Id] FROM WorkItems WHERE [System.State] = 'unclosed",
		"SELECT [System.Id] FROM WorkItems WHERE ([System.Id] > 1",
	} {
		if _, err := parseWIQL(q); err == nil {
			t.Errorf("parseWIQL accepted %q", q)
		}
	}
	q, err := parseWIQL("SELECT [System.Id] FROM WorkItems WHERE [Custom.Team] = 'x'")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.where.eval(WorkItem{}, "p"); err == nil || !strings.Contains(err.Error(), "TF51005") {
		t.Fatalf("an unknown field is refused when evaluated, got %v", err)
	}
}

// do sends a request to the fake with the token as basic-auth password.
func do(t *testing.T, s *Server, method, path, contentType string, body any, header ...string) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if b, ok := body.([]byte); ok {
		rd = bytes.NewReader(b)
	} else {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.OrgURL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(":pat")))
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestFakeRefusesRequestsAzureDevOpsRefuses(t *testing.T) {
	s := New(WithToken("pat"))
	t.Cleanup(s.Close)
	id := s.CreateWorkItem(NewWorkItem{Project: "Platform", Title: "x"})
	item := "/Platform/_apis/wit/workitems/" + itoa(id)
	patch := []map[string]any{{"op": "add", "path": "/fields/System.Title", "value": "y"}}
	cases := []struct {
		name    string
		method  string
		path    string
		ct      string
		body    any
		header  []string
		status  int
		message string
	}{
		{"no api-version", "GET", item, "", nil, nil, 400, "No api-version was supplied"},
		{"comments without -preview", "GET", item + "/comments?api-version=7.1", "", nil, nil, 400, "under preview"},
		{"version out of range", "GET", item + "?api-version=5.1", "", nil, nil, 400, "out of range"},
		{"unknown project", "GET", "/Nope/_apis/wit/workitems/1?api-version=7.1", "", nil, nil, 404, "TF200016"},
		{"unknown work item", "GET", "/Platform/_apis/wit/workitems/999?api-version=7.1", "", nil, nil, 404, "TF401232"},
		{"unknown field", "GET", item + "?api-version=7.1&fields=System.Nope", "", nil, nil, 400, "TF51535"},
		{"patch as plain JSON", "PATCH", item + "?api-version=7.1", "application/json", patch, nil, 415, ""},
		{"stale revision", "PATCH", item + "?api-version=7.1", "application/json-patch+json",
			[]map[string]any{{"op": "test", "path": "/rev", "value": 99}, patch[0]}, nil, 412, "TF26071"},
		{"state the type lacks", "PATCH", item + "?api-version=7.1", "application/json-patch+json",
			[]map[string]any{{"op": "add", "path": "/fields/System.State", "value": "Done"}}, nil, 400, "TF401320"},
		{"batch over the limit", "POST", "/Platform/_apis/wit/workitemsbatch?api-version=7.1", "application/json",
			map[string]any{"ids": make([]int, 201)}, nil, 400, "exceeds the limit"},
		{"wrong token", "GET", item + "?api-version=7.1", "", nil,
			[]string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(":other"))}, 401, "TF400813"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, out := do(t, s, tc.method, tc.path, tc.ct, tc.body, tc.header...)
			if status != tc.status {
				t.Fatalf("status %d, want %d (%v)", status, tc.status, out)
			}
			if msg, _ := out["message"].(string); !strings.Contains(msg, tc.message) {
				t.Fatalf("message %q, want it to contain %q", msg, tc.message)
			}
		})
	}
	w, _ := s.WorkItem(id)
	if w.Rev != 1 || w.Title != "x" {
		t.Fatalf("refused patches changed the work item: %+v", w)
	}
}

func TestUnauthenticatedBrowserStyleRequestGetsTheSignInPage(t *testing.T) {
	s := New(WithToken("pat"))
	t.Cleanup(s.Close)
	s.AddProject("Platform")
	resp, err := s.Client().Get(s.OrgURL() + "/Platform/_apis/wit/workitems/1?api-version=7.1")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNonAuthoritativeInfo {
		t.Fatalf("status %d, want 203", resp.StatusCode)
	}
}

func TestPatchIsAtomic(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	id := s.CreateWorkItem(NewWorkItem{Project: "Platform", Title: "x", Tags: []string{"a"}})
	status, _ := do(t, s, "PATCH", "/Platform/_apis/wit/workitems/"+itoa(id)+"?api-version=7.1", "application/json-patch+json",
		[]map[string]any{
			{"op": "add", "path": "/fields/System.Tags", "value": "b"},
			{"op": "add", "path": "/fields/System.State", "value": "Nope"},
		})
	if status != http.StatusBadRequest {
		t.Fatalf("status %d", status)
	}
	w, _ := s.WorkItem(id)
	if !slices.Equal(w.Tags, []string{"a"}) || w.Rev != 1 {
		t.Fatalf("a refused patch applied part of itself: %+v", w)
	}
	status, out := do(t, s, "PATCH", "/Platform/_apis/wit/workitems/"+itoa(id)+"?api-version=7.1", "application/json-patch+json",
		[]map[string]any{
			{"op": "test", "path": "/rev", "value": 1},
			{"op": "add", "path": "/fields/System.Tags", "value": "b"},
			{"op": "add", "path": "/fields/System.History", "value": "<div>done</div>"},
		})
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, out)
	}
	w, _ = s.WorkItem(id)
	if !slices.Equal(w.Tags, []string{"a", "b"}) || w.Rev != 2 || len(w.Comments) != 1 {
		t.Fatalf("add merges tags, History comments, one revision: %+v", w)
	}
}
