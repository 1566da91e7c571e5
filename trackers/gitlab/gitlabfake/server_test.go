package gitlabfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
)

const token = "glpat-fake-test"

func newFake(t *testing.T) *gitlabfake.Server {
	t.Helper()
	s := gitlabfake.New(gitlabfake.WithToken(token, "bot"), gitlabfake.WithMaxPerPage(2))
	t.Cleanup(s.Close)
	s.AddProject("acme/platform/api", "main")
	s.AddMember("acme/platform/api", "bot", gitlabfake.AccessMaintainer)
	return s
}

type reply struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, s *gitlabfake.Server, method, path string, header map[string]string, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, s.APIURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
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
	return reply{resp.StatusCode, resp.Header, string(raw)}
}

func TestTheFakeAnswersAsGitLabDocuments(t *testing.T) {
	auth := map[string]string{"PRIVATE-TOKEN": token}
	cases := []struct {
		name           string
		method, path   string
		header         map[string]string
		body           string
		status         int
		bodyHas        string
		header1, value string
	}{
		{name: "no token", method: "GET", path: "/projects/acme%2Fplatform%2Fapi", status: 401, bodyHas: `{"message":"401 Unauthorized"}`},
		{name: "private token", method: "GET", path: "/projects/acme%2Fplatform%2Fapi", header: auth, status: 200, bodyHas: `"path_with_namespace":"acme/platform/api"`},
		{name: "bearer token", method: "GET", path: "/projects/acme%2Fplatform%2Fapi", header: map[string]string{"Authorization": "Bearer " + token}, status: 200},
		{name: "unknown project", method: "GET", path: "/projects/acme%2Fnope", header: auth, status: 404, bodyHas: `"404 Project Not Found"`},
		{name: "unknown route", method: "GET", path: "/nope", header: auth, status: 404, bodyHas: `{"error":"404 Not Found"}`},
		{name: "unknown issue", method: "GET", path: "/projects/acme%2Fplatform%2Fapi/issues/99", header: auth, status: 404, bodyHas: `"404 Issue Not Found"`},
		{name: "bad state filter", method: "GET", path: "/projects/acme%2Fplatform%2Fapi/issues?state=open", header: auth, status: 400, bodyHas: `state does not have a valid value`},
		{name: "label without color", method: "POST", path: "/projects/acme%2Fplatform%2Fapi/labels", header: map[string]string{"PRIVATE-TOKEN": token, "Content-Type": "application/json"},
			body: `{"name":"x"}`, status: 400, bodyHas: `color is missing`},
		{name: "merge request without title", method: "POST", path: "/projects/acme%2Fplatform%2Fapi/merge_requests", header: map[string]string{"PRIVATE-TOKEN": token, "Content-Type": "application/json"},
			body: `{"source_branch":"a","target_branch":"main"}`, status: 400, bodyHas: `title is missing`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			r := do(t, newFake(t), tc.method, tc.path, tc.header, tc.body)
			g.Expect(r.status).To(Equal(tc.status), r.body)
			g.Expect(r.body).To(ContainSubstring(tc.bodyHas))
		})
	}
}

func TestTheFakePagesWithGitLabsHeaders(t *testing.T) {
	g := NewWithT(t)
	s := newFake(t)
	for range 5 {
		s.CreateIssue("acme/platform/api", gitlabfake.NewIssue{Title: "x", Labels: []string{"bug"}})
	}
	r := do(t, s, "GET", "/projects/acme%2Fplatform%2Fapi/issues?labels=bug&per_page=50&page=2&sort=asc", map[string]string{"PRIVATE-TOKEN": token}, "")
	g.Expect(r.status).To(Equal(200))
	g.Expect(r.header.Get("X-Per-Page")).To(Equal("2"), "per_page is capped")
	g.Expect(r.header.Get("X-Page")).To(Equal("2"))
	g.Expect(r.header.Get("X-Next-Page")).To(Equal("3"))
	g.Expect(r.header.Get("X-Prev-Page")).To(Equal("1"))
	g.Expect(r.header.Get("X-Total")).To(Equal("5"))
	g.Expect(r.header.Get("X-Total-Pages")).To(Equal("3"))
	g.Expect(r.header.Get("Link")).To(ContainSubstring(`page=3&per_page=2&sort=asc>; rel="next"`))
	var issues []struct {
		IID    int      `json:"iid"`
		State  string   `json:"state"`
		Labels []string `json:"labels"`
		WebURL string   `json:"web_url"`
	}
	g.Expect(json.Unmarshal([]byte(r.body), &issues)).To(Succeed())
	g.Expect(issues).To(HaveLen(2))
	g.Expect(issues[0].IID).To(Equal(3))
	g.Expect(issues[0].State).To(Equal("opened"))
	g.Expect(issues[0].WebURL).To(Equal(s.URL + "/acme/platform/api/-/issues/3"))

	last := do(t, s, "GET", "/projects/acme%2Fplatform%2Fapi/issues?per_page=2&page=3", map[string]string{"PRIVATE-TOKEN": token}, "")
	g.Expect(last.header.Values("X-Next-Page")).To(Equal([]string{""}), "the last page has an empty X-Next-Page")
}

func TestTheFakeRefusesAsGitLabsRateLimiterDoes(t *testing.T) {
	g := NewWithT(t)
	s := newFake(t)
	s.RefuseNext(1, gitlabfake.Refusal{Status: 429, RetryAfter: 30 * time.Second, ResetIn: 30 * time.Second})
	r := do(t, s, "GET", "/projects/acme%2Fplatform%2Fapi", map[string]string{"PRIVATE-TOKEN": token}, "")
	g.Expect(r.status).To(Equal(http.StatusTooManyRequests))
	g.Expect(r.body).To(Equal("Retry later\n"))
	g.Expect(r.header.Get("Retry-After")).To(Equal("30"))
	g.Expect(r.header.Get("RateLimit-Remaining")).To(Equal("0"))
	g.Expect(r.header.Get("RateLimit-Reset")).NotTo(BeEmpty())
	g.Expect(do(t, s, "GET", "/projects/acme%2Fplatform%2Fapi", map[string]string{"PRIVATE-TOKEN": token}, "").status).To(Equal(200))
}

func TestTheFakeEditsLabelsWithSystemNotes(t *testing.T) {
	g := NewWithT(t)
	s := newFake(t)
	iid := s.CreateIssue("acme/platform/api", gitlabfake.NewIssue{Title: "x", Labels: []string{"bug", "old"}})
	r := do(t, s, "PUT", "/projects/acme%2Fplatform%2Fapi/issues/1", map[string]string{"PRIVATE-TOKEN": token, "Content-Type": "application/json"},
		`{"add_labels":"new,bug","remove_labels":"old,absent","state_event":"close"}`)
	g.Expect(r.status).To(Equal(200), r.body)
	is, _ := s.Issue("acme/platform/api", iid)
	g.Expect(is.Labels).To(Equal([]string{"bug", "new"}))
	g.Expect(is.State).To(Equal("closed"))
	var system []string
	for _, n := range is.Notes {
		g.Expect(n.System).To(BeTrue())
		system = append(system, n.Body)
	}
	g.Expect(system).To(HaveLen(3))
	g.Expect(system[0]).To(MatchRegexp(`^added ~\d+ label$`))
	g.Expect(system[1]).To(MatchRegexp(`^removed ~\d+ label$`))
	g.Expect(system[2]).To(Equal("closed"))
}

func TestTheFakeKeepsRolesApart(t *testing.T) {
	g := NewWithT(t)
	s := gitlabfake.New(gitlabfake.WithToken(token, "bot"), gitlabfake.WithToken("glpat-guest", "guest"))
	t.Cleanup(s.Close)
	s.AddProject("acme/api", "main")
	s.AddMember("acme/api", "bot", gitlabfake.AccessMaintainer)
	s.AddMember("acme/api", "guest", gitlabfake.AccessGuest)
	s.CreateBranch("acme/api", "fix")
	s.CreateIssue("acme/api", gitlabfake.NewIssue{Title: "x"})
	guest := map[string]string{"PRIVATE-TOKEN": "glpat-guest", "Content-Type": "application/json"}
	g.Expect(do(t, s, "PUT", "/projects/acme%2Fapi/issues/1", guest, `{"state_event":"close"}`).status).To(Equal(403))
	g.Expect(do(t, s, "POST", "/projects/acme%2Fapi/merge_requests", guest, `{"source_branch":"fix","target_branch":"main","title":"t"}`).status).To(Equal(403))
	posted := do(t, s, "POST", "/projects/acme%2Fapi/issues/1/notes", guest, `{"body":"me too"}`)
	g.Expect(posted.status).To(Equal(201), "any member may comment")
	var n struct {
		ID int64 `json:"id"`
	}
	g.Expect(json.Unmarshal([]byte(posted.body), &n)).To(Succeed())
	bot := map[string]string{"PRIVATE-TOKEN": token, "Content-Type": "application/json"}
	g.Expect(do(t, s, "PUT", "/projects/acme%2Fapi/issues/1/notes/"+strconv.FormatInt(n.ID, 10), bot, `{"body":"edited"}`).status).To(Equal(403), "only the author edits a note")
}
