package jirafake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"
)

// call sends a request to the fake as the agent user and decodes the JSON
// answer.
func call(t *testing.T, s *Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("agent@acme.example", "token")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

func TestTheFakeAnswersAsJiraDoes(t *testing.T) {
	s := New(WithUser("agent@acme.example", "token", User{AccountID: "557058:agent", DisplayName: "Agent"}), WithMaxResults(2))
	defer s.Close()
	s.AddProject("SHOP", "Shop")
	key := s.CreateIssue("SHOP", NewIssue{Summary: "a", Labels: []string{"bug"}})
	for range 2 {
		s.CreateIssue("SHOP", NewIssue{Summary: "more"})
	}
	doc := `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"hi"}]}]}`
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     map[string]any
	}{
		{"search without fields names ids only", "POST", "/rest/api/3/search/jql", `{"jql":"project = SHOP","maxResults":5}`,
			200, map[string]any{"issues": []any{map[string]any{"id": "10002"}, map[string]any{"id": "10003"}}, "isLast": false,
				"nextPageToken": newPageToken("project = SHOP", 2)}},
		{"last page has no token", "POST", "/rest/api/3/search/jql",
			`{"jql":"project = SHOP","nextPageToken":"` + newPageToken("project = SHOP", 2) + `"}`,
			200, map[string]any{"issues": []any{map[string]any{"id": "10004"}}, "isLast": true}},
		{"token of another query", "POST", "/rest/api/3/search/jql",
			`{"jql":"project = SHOP AND labels = bug","nextPageToken":"` + newPageToken("project = SHOP", 2) + `"}`,
			400, map[string]any{"errorMessages": []any{"The provided next page token is invalid or expired."}, "errors": map[string]any{}}},
		{"startAt is no longer a search parameter", "POST", "/rest/api/3/search/jql", `{"jql":"project = SHOP","startAt":0}`,
			400, map[string]any{"errorMessages": []any{"Invalid request payload. Refer to the REST API documentation and try again."}, "errors": map[string]any{}}},
		{"unbounded search", "POST", "/rest/api/3/search/jql", `{"jql":"ORDER BY created"}`,
			400, map[string]any{"errorMessages": []any{"Unbounded JQL queries are not allowed here. Please add a search restriction to your query."}, "errors": map[string]any{}}},
		{"the removed search endpoint", "POST", "/rest/api/3/search", `{"jql":"project = SHOP"}`, 410, nil},
		{"label with a space", "PUT", "/rest/api/3/issue/" + key, `{"update":{"labels":[{"add":"two words"}]}}`,
			400, map[string]any{"errorMessages": []any{}, "errors": map[string]any{"labels": "The label 'two words' contains spaces which is invalid."}}},
		{"field not on the edit screen", "PUT", "/rest/api/3/issue/" + key, `{"fields":{"priority":{"name":"High"}}}`,
			400, map[string]any{"errorMessages": []any{}, "errors": map[string]any{"priority": "Field 'priority' cannot be set. It is not on the appropriate screen, or unknown."}}},
		{"comment body as v2 text", "POST", "/rest/api/3/issue/" + key + "/comment", `{"body":"hi"}`,
			400, map[string]any{"errorMessages": []any{}, "errors": map[string]any{"comment": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"}}},
		{"empty comment", "POST", "/rest/api/3/issue/" + key + "/comment", `{"body":{"type":"doc","version":1,"content":[{"type":"paragraph"}]}}`,
			400, map[string]any{"errorMessages": []any{}, "errors": map[string]any{"comment": "Comment body can not be empty!"}}},
		{"empty text node", "POST", "/rest/api/3/issue/" + key + "/comment", `{"body":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":""}]}]}}`,
			400, map[string]any{"errorMessages": []any{}, "errors": map[string]any{"comment": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"}}},
		{"transition not available", "POST", "/rest/api/3/issue/" + key + "/transitions", `{"transition":{"id":"11"}}`,
			400, map[string]any{"errorMessages": []any{"Transition id '11' is not valid for this issue."}, "errors": map[string]any{}}},
		{"transition with a comment", "POST", "/rest/api/3/issue/" + key + "/transitions",
			`{"transition":{"id":"21"},"update":{"comment":[{"add":{"body":` + doc + `}}]}}`, 204, nil},
		{"issue nobody may see", "GET", "/rest/api/3/issue/SHOP-99", "",
			404, map[string]any{"errorMessages": []any{"Issue does not exist or you do not have permission to see it."}, "errors": map[string]any{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			status, body := call(t, s, tc.method, tc.path, tc.body)
			g.Expect(status).To(Equal(tc.status), "%v", body)
			if tc.want != nil {
				g.Expect(body).To(Equal(tc.want))
			}
		})
	}
	is, _ := s.Issue(key)
	NewWithT(t).Expect(is.Status).To(Equal("In Progress"))
	NewWithT(t).Expect(is.Comments).To(ConsistOf(HaveField("Body", "hi")))
}

func TestTheFakeRefusesWrongCredentials(t *testing.T) {
	g := NewWithT(t)
	s := New(WithUser("agent@acme.example", "token", User{AccountID: "557058:agent"}))
	defer s.Close()
	req, err := http.NewRequest(http.MethodGet, s.URL+"/rest/api/3/issue/SHOP-1", nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.SetBasicAuth("agent@acme.example", "wrong")
	resp, err := s.Client().Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
	g.Expect(s.Requests()).To(ConsistOf(HaveField("Status", http.StatusUnauthorized)))
}

func TestMyselfIsTheAuthenticatedAccount(t *testing.T) {
	g := NewWithT(t)
	s := New(WithUser("agent@acme.example", "token", User{AccountID: "557058:agent", DisplayName: "Agent", AccountType: "app"}))
	defer s.Close()
	status, me := call(t, s, http.MethodGet, "/rest/api/3/myself", "")
	g.Expect(status).To(Equal(http.StatusOK))
	g.Expect(me).To(And(HaveKeyWithValue("accountId", "557058:agent"), HaveKeyWithValue("accountType", "app"),
		HaveKeyWithValue("emailAddress", "agent@acme.example"), HaveKey("self")))

	open := New()
	defer open.Close()
	status, _ = call(t, open, http.MethodGet, "/rest/api/3/myself", "")
	g.Expect(status).To(Equal(http.StatusUnauthorized), "an anonymous request has no self")
}
