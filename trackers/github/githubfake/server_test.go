package githubfake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func get(t *testing.T, s *Server, path, token string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.APIURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestListsPageWithLinkHeaders(t *testing.T) {
	g := NewWithT(t)
	s := New(WithMaxPerPage(2))
	t.Cleanup(s.Close)
	s.AddRepo("acme/shop", "main")
	for i := range 5 {
		s.CreateIssue("acme/shop", NewIssue{Title: "i" + strconv.Itoa(i), Labels: []string{"bug"}})
	}
	resp := get(t, s, "/repos/acme/shop/issues?labels=bug&per_page=100&page=2", "")
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	link := resp.Header.Get("Link")
	g.Expect(link).To(ContainSubstring(`page=3`))
	g.Expect(link).To(ContainSubstring(`rel="next"`))
	g.Expect(link).To(ContainSubstring(`rel="last"`))
	g.Expect(link).To(ContainSubstring(`rel="prev"`))
	g.Expect(link).To(HavePrefix("<" + s.URL + "/api/v3/repos/acme/shop/issues?"))
	var issues []map[string]any
	g.Expect(json.NewDecoder(resp.Body).Decode(&issues)).To(Succeed())
	g.Expect(issues).To(HaveLen(2))
	g.Expect(issues[0]).To(HaveKeyWithValue("number", 3.0), "newest first")
	g.Expect(issues[0]).To(HaveKey("labels"))
}

func TestConditionalRequestsCostNoRateLimit(t *testing.T) {
	g := NewWithT(t)
	s := New(WithToken("t"))
	t.Cleanup(s.Close)
	s.AddRepo("acme/shop", "main")
	s.CreateIssue("acme/shop", NewIssue{Title: "x"})
	first := get(t, s, "/repos/acme/shop/issues", "t")
	etag := first.Header.Get("ETag")
	g.Expect(etag).NotTo(BeEmpty())
	remaining := first.Header.Get("X-RateLimit-Remaining")

	again := get(t, s, "/repos/acme/shop/issues", "t", "If-None-Match", etag)
	g.Expect(again.StatusCode).To(Equal(http.StatusNotModified))
	g.Expect(again.Header.Get("X-RateLimit-Remaining")).To(Equal(remaining))

	s.CreateIssue("acme/shop", NewIssue{Title: "y"})
	changed := get(t, s, "/repos/acme/shop/issues", "t", "If-None-Match", etag)
	g.Expect(changed.StatusCode).To(Equal(http.StatusOK))
}

func TestRateLimitAndCredentials(t *testing.T) {
	g := NewWithT(t)
	s := New(WithToken("t"), WithRateLimit(2))
	t.Cleanup(s.Close)
	s.AddRepo("acme/shop", "main")
	g.Expect(get(t, s, "/repos/acme/shop", "").StatusCode).To(Equal(http.StatusUnauthorized))
	g.Expect(get(t, s, "/repos/acme/shop", "wrong").StatusCode).To(Equal(http.StatusUnauthorized))
	// The two 401s spent the limit, as failed requests do on GitHub.
	limited := get(t, s, "/repos/acme/shop", "t")
	g.Expect(limited.StatusCode).To(Equal(http.StatusForbidden))
	g.Expect(limited.Header.Get("X-RateLimit-Remaining")).To(Equal("0"))
	reset, err := strconv.ParseInt(limited.Header.Get("X-RateLimit-Reset"), 10, 64)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(time.Unix(reset, 0)).To(BeTemporally(">", time.Now()))

	s.LimitSecondary(1, 3*time.Second)
	secondary := get(t, s, "/repos/acme/shop", "t")
	g.Expect(secondary.StatusCode).To(Equal(http.StatusForbidden))
	g.Expect(secondary.Header.Get("Retry-After")).To(Equal("3"))
	body, _ := io.ReadAll(secondary.Body)
	g.Expect(string(body)).To(ContainSubstring("secondary rate limit"))
}

func TestSendDeliversSignedWebhooks(t *testing.T) {
	g := NewWithT(t)
	s := New()
	t.Cleanup(s.Close)
	s.AddRepo("acme/shop", "main")
	n := s.CreateIssue("acme/shop", NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	var got *http.Request
	var body []byte
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(receiver.Close)

	d := s.IssuesEvent("acme/shop", n, "labeled", "agent-smith", User{Login: "alice"})
	resp, err := Send(context.Background(), receiver.Client(), receiver.URL+"/webhooks/github", "s3cret", d)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Body.Close()).To(Succeed())
	g.Expect(resp.StatusCode).To(Equal(http.StatusAccepted))
	g.Expect(got.Header.Get("X-GitHub-Event")).To(Equal("issues"))
	g.Expect(got.Header.Get("X-GitHub-Delivery")).To(Equal(d.ID))
	g.Expect(got.Header.Get("X-Hub-Signature-256")).To(Equal(Sign("s3cret", body)))
	g.Expect(strings.HasPrefix(got.Header.Get("X-Hub-Signature"), "sha1=")).To(BeTrue())

	var payload map[string]any
	g.Expect(json.Unmarshal(body, &payload)).To(Succeed())
	g.Expect(payload).To(HaveKeyWithValue("action", "labeled"))
	g.Expect(payload).To(HaveKeyWithValue("label", HaveKeyWithValue("name", "agent-smith")))
	g.Expect(payload).To(HaveKeyWithValue("issue", HaveKeyWithValue("number", float64(n))))
	g.Expect(payload).To(HaveKeyWithValue("repository", HaveKeyWithValue("full_name", "acme/shop")))
	g.Expect(d.Redelivery().ID).To(Equal(d.ID))
}

func TestIdentityEndpointsAnswerAsGitHubDoes(t *testing.T) {
	g := NewWithT(t)
	s := New(WithToken("ghp_owner"), WithTokenOf("ghp_mallory", User{Login: "mallory"}))
	t.Cleanup(s.Close)
	s.mu.Lock()
	s.tokens["ghs_installation"] = caller{user: AppBot, association: AssociationNone}
	s.mu.Unlock()

	profile := func(resp *http.Response) map[string]any {
		var out map[string]any
		g.Expect(json.NewDecoder(resp.Body).Decode(&out)).To(Succeed())
		return out
	}
	owner := profile(get(t, s, "/user", "ghp_owner"))
	g.Expect(owner).To(And(HaveKeyWithValue("login", TokenOwner.Login), HaveKeyWithValue("type", "User"), HaveKey("created_at")))
	mallory := profile(get(t, s, "/user", "ghp_mallory"))
	g.Expect(mallory["id"]).NotTo(Equal(owner["id"]), "distinct accounts have distinct ids")
	g.Expect(get(t, s, "/user", "ghs_installation").StatusCode).To(Equal(http.StatusForbidden), "an installation token is no user")
	g.Expect(get(t, s, "/user", "").StatusCode).To(Equal(http.StatusUnauthorized))

	g.Expect(profile(get(t, s, "/users/mallory", "ghp_owner"))["id"]).To(Equal(mallory["id"]))
	g.Expect(get(t, s, "/users/agent-smith[bot]", "ghp_owner").StatusCode).To(Equal(http.StatusNotFound), "no App is registered")
	g.Expect(get(t, s, "/app", "ghp_owner").StatusCode).To(Equal(http.StatusUnauthorized), "GET /app needs the App's JWT")
}

func TestFailRequestsRefusesMatchingRequestsUntilLifted(t *testing.T) {
	g := NewWithT(t)
	s := New()
	t.Cleanup(s.Close)
	s.AddRepo("acme/shop", "main")
	n := s.CreateIssue("acme/shop", NewIssue{Title: "x"})
	addLabel := func() int {
		req, err := http.NewRequest(http.MethodPost, s.APIURL()+"/repos/acme/shop/issues/"+strconv.Itoa(n)+"/labels", strings.NewReader(`{"labels":["bug"]}`))
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := s.Client().Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	lift := s.FailRequests(http.MethodPost, "/repos/acme/shop/issues/*/labels", http.StatusForbidden)
	g.Expect(addLabel()).To(Equal(http.StatusForbidden))
	g.Expect(addLabel()).To(Equal(http.StatusForbidden), "until lifted")
	g.Expect(get(t, s, "/repos/acme/shop/issues/"+strconv.Itoa(n), "").StatusCode).To(Equal(http.StatusOK), "other requests pass")
	is, _ := s.Issue("acme/shop", n)
	g.Expect(is.Labels).To(BeEmpty())
	lift()
	g.Expect(addLabel()).To(Equal(http.StatusOK))
}
