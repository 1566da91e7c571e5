package console

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/runs"
)

// browserClient is an HTTP client that keeps cookies and does not follow
// redirects, as a test of what the page answers needs.
func browserClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) signIn(c *http.Client, token string) *http.Response {
	e.t.Helper()
	resp, err := c.PostForm(e.srv.URL+"/login", url.Values{"token": {token}, "next": {"/runs/x"}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestPageSignsInWithATokenAndKeepsOnlyASignedSession(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	run := e.submit("shop")
	c := browserClient()

	resp, err := c.Get(e.srv.URL + "/runs/" + run.ID)
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusSeeOther))
	g.Expect(resp.Header.Get("Location")).To(Equal("/login?next=%2Fruns%2F" + run.ID))

	resp = e.signIn(c, "wrong-token-0000000000")
	g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
	resp = e.signIn(c, adminToken)
	g.Expect(resp.StatusCode).To(Equal(http.StatusSeeOther))
	g.Expect(resp.Header.Get("Location")).To(Equal("/runs/x"))
	cookie := resp.Header.Get("Set-Cookie")
	g.Expect(cookie).To(And(ContainSubstring("HttpOnly"), ContainSubstring("SameSite=Strict"), ContainSubstring("Max-Age=43200")))
	g.Expect(cookie).NotTo(ContainSubstring(adminToken))

	resp, err = c.Get(e.srv.URL + "/runs/" + run.ID)
	g.Expect(err).NotTo(HaveOccurred())
	page := body(t, resp)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Expect(page).To(And(ContainSubstring(run.TicketTitle), ContainSubstring(`id="cancel"`)))
	g.Expect(resp.Header.Get("Content-Security-Policy")).To(ContainSubstring("script-src 'self'"))

	// The session also authenticates the API (the page's live stream).
	resp, err = c.Get(e.srv.URL + "/api/runs/" + run.ID + "/events")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(body(t, resp)).To(ContainSubstring(`"kind": "state"`))

	resp, err = c.PostForm(e.srv.URL+"/logout", nil)
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	resp, err = c.Get(e.srv.URL + "/")
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusSeeOther), "signed out")

	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example"} {
		g.Expect(localPath(next)).To(Equal("/"), next)
	}
}

func TestPageRefusesCrossSitePostsAndReadOnlyCancels(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	run := e.submit("shop")
	admin := browserClient()
	e.signIn(admin, adminToken)

	// Another site's page posting a form to the console with the browser's
	// cookie: the browser says where the request comes from.
	req, _ := http.NewRequest("POST", e.srv.URL+"/runs/"+run.ID+"/cancel", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := admin.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
	req, _ = http.NewRequest("POST", e.srv.URL+"/api/runs/"+run.ID+"/cancel", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err = admin.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
	got, err := e.store.Get(e.ctx(), run.ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.State).To(Equal(runs.StateQueued), "nothing was cancelled")

	reader := browserClient()
	e.signIn(reader, readToken)
	resp, err = reader.Get(e.srv.URL + "/runs/" + run.ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(body(t, resp)).NotTo(ContainSubstring(`id="cancel"`), "no buttons for a read-only token")
	req, _ = http.NewRequest("POST", e.srv.URL+"/runs/"+run.ID+"/cancel", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = reader.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
	g.Expect(body(t, resp)).To(ContainSubstring("grafana is read-only"))

	req, _ = http.NewRequest("POST", e.srv.URL+"/runs/"+run.ID+"/cancel", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = admin.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusSeeOther))
	got, err = e.store.Get(e.ctx(), run.ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.State).To(Equal(runs.StateCancelled))
}

func TestPageWithoutTokensSaysHowToConfigureThem(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	base := httptestConsole(t, e.store, "")
	resp, err := http.Get(base + "/login")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
	g.Expect(body(t, resp)).To(ContainSubstring("AGENTSMITH_API_TOKENS"))
	resp, err = http.Get(base + "/static/app.js")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(body(t, resp)).To(ContainSubstring("EventSource"), "assets are embedded and need no session")
	g.Expect(strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript")).To(BeTrue(), resp.Header.Get("Content-Type"))
}
