package console

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/runs"
)

func TestAPIRefusesRequestsWithoutAValidToken(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	run := e.submit("shop")

	code, body, h := e.call("GET", "/api/runs", "", "")
	g.Expect(code).To(Equal(http.StatusUnauthorized))
	g.Expect(body["error"]).To(ContainSubstring("Authorization: Bearer"))
	g.Expect(h.Get("WWW-Authenticate")).To(HavePrefix("Bearer"))
	code, _, _ = e.call("GET", "/api/runs/"+run.ID, "not-a-token-at-all-0000", "")
	g.Expect(code).To(Equal(http.StatusUnauthorized))
	code, body, _ = e.call("POST", "/api/runs/"+run.ID+"/cancel", readToken, "")
	g.Expect(code).To(Equal(http.StatusForbidden))
	g.Expect(body["error"]).To(ContainSubstring(`"grafana" is read-only`))
	code, _, _ = e.call("GET", "/api/runs/"+run.ID, readToken, "")
	g.Expect(code).To(Equal(http.StatusOK), "a read token reads")

	none := httptestConsole(t, e.store, "")
	resp, err := http.Get(none + "/api/runs")
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized), "no tokens configured: nobody gets in")
}

func TestAPIListsRunsOfEveryStateNewestFirst(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	first := e.submit("shop")
	second := e.submit("docs")
	third := e.submit("shop")
	_, err := e.store.Cancel(e.ctx(), first.ID, "alice", "")
	g.Expect(err).NotTo(HaveOccurred())

	c := e.client(readToken)
	page, err := c.List(e.ctx(), runs.Filter{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ids(page.Runs)).To(Equal([]string{third.ID, second.ID, first.ID}), "a cancelled run is listed too")
	page, err = c.List(e.ctx(), runs.Filter{Limit: 2})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ids(page.Runs)).To(Equal([]string{third.ID, second.ID}))
	page, err = c.List(e.ctx(), runs.Filter{Limit: 2, Cursor: page.Next})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ids(page.Runs)).To(Equal([]string{first.ID}))
	g.Expect(page.Next).To(BeEmpty())

	page, err = c.List(e.ctx(), runs.Filter{States: []runs.State{runs.StateQueued}, Project: "shop"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ids(page.Runs)).To(Equal([]string{third.ID}))
	page, err = c.List(e.ctx(), runs.Filter{Ticket: second.Ticket})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ids(page.Runs)).To(Equal([]string{second.ID}))
	code, body, _ := e.call("GET", "/api/runs?state=queued,cancelled", readToken, "")
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(body["runs"]).To(HaveLen(3))
}

func TestAPIShowsARunWithItsPlanPullRequestsCostAndAttempts(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.submit("shop")
	run := e.start()
	_, err := e.store.Update(e.ctx(), run.ID, runs.Update{Fence: run.Fence, Step: "execute", Plan: "1. Fix the cart total",
		PullRequests: map[string]string{"shop-api": "https://github.com/acme/shop-api/pull/7"},
		AddUsage:     runs.Usage{InputTokens: 1200, OutputTokens: 300, CostUSD: 0.042}})
	g.Expect(err).NotTo(HaveOccurred())

	code, body, _ := e.call("GET", "/api/runs/"+run.ID, readToken, "")
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(body).To(And(HaveKeyWithValue("state", "starting"), HaveKeyWithValue("attempt", BeNumerically("==", 1)),
		HaveKeyWithValue("plan", "1. Fix the cart total"), HaveKeyWithValue("step", "execute"),
		HaveKeyWithValue("pullRequests", HaveKeyWithValue("shop-api", "https://github.com/acme/shop-api/pull/7")),
		HaveKeyWithValue("usage", HaveKeyWithValue("costUsd", 0.042))))

	code, body, _ = e.call("GET", "/api/runs/20260101-000000-none", readToken, "")
	g.Expect(code).To(Equal(http.StatusNotFound))
	g.Expect(body["error"]).To(ContainSubstring("no run 20260101-000000-none"))
}

func TestAPIReadsTheLogAPageAtATime(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	run := e.submit("shop")
	for _, msg := range []string{"one", "two", "three"} {
		g.Expect(e.store.AppendProgress(e.ctx(), run.ID, "plan", msg)).To(Succeed())
	}
	c := e.client(readToken)
	page, err := c.Events(e.ctx(), run.ID, "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(page.Events).To(HaveLen(4))
	g.Expect(page.Events[3].Message).To(Equal("three"))
	g.Expect(page.Ended).To(BeFalse())
	code, body, _ := e.call("GET", "/api/runs/"+run.ID+"/events?after="+page.Events[1].ID, readToken, "")
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(body["events"]).To(HaveExactElements(
		And(HaveKeyWithValue("message", "two"), HaveKeyWithValue("line", "[plan] two"), HaveKeyWithValue("kind", "note")),
		HaveKeyWithValue("message", "three")))
	g.Expect(body["next"]).To(Equal(page.Events[3].ID))
}

// sseEvent is one event read off a stream.
type sseEvent struct{ ID, Name, Data string }

// readSSE reads events off an open stream into a channel.
func readSSE(resp *http.Response) <-chan sseEvent {
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" && ev.Name != "":
				ch <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	return ch
}

func (e *env) openStream(id, lastEventID string) (*http.Response, context.CancelFunc) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/runs/"+id+"/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+readToken)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	NewWithT(e.t).Expect(resp.Header.Get("Content-Type")).To(Equal("text/event-stream"))
	return resp, cancel
}

func TestEventStreamResumesFromLastEventIDAndEndsWithTheRun(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	run := e.submit("shop")
	g.Expect(e.store.AppendProgress(e.ctx(), run.ID, "", "first")).To(Succeed())

	resp, stop := e.openStream(run.ID, "")
	events := readSSE(resp)
	var submitted, first sseEvent
	g.Eventually(events).Should(Receive(&submitted))
	g.Eventually(events).Should(Receive(&first))
	g.Expect(first.Data).To(ContainSubstring(`"message":"first"`))
	g.Expect(e.store.AppendProgress(e.ctx(), run.ID, "", "second")).To(Succeed())
	g.Eventually(events).Should(Receive(HaveField("Data", ContainSubstring(`"message":"second"`))), "live")
	stop() // the client goes away…
	resp.Body.Close()

	g.Expect(e.store.AppendProgress(e.ctx(), run.ID, "", "while away")).To(Succeed())
	resp, stop = e.openStream(run.ID, first.ID) // …and comes back where it was
	defer stop()
	events = readSSE(resp)
	g.Eventually(events).Should(Receive(HaveField("Data", ContainSubstring(`"message":"second"`))))
	g.Eventually(events).Should(Receive(HaveField("Data", ContainSubstring(`"message":"while away"`))))
	_, err := e.store.Cancel(e.ctx(), run.ID, "alice", "no longer needed")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(events).Should(Receive(And(HaveField("Name", "entry"), HaveField("Data", ContainSubstring(`"to":"cancelled"`)))))
	g.Eventually(events).Should(Receive(And(HaveField("Name", "end"), HaveField("Data", ContainSubstring(`"state":"cancelled"`)))))
	g.Eventually(events).Should(BeClosed(), "the stream ends with the run")

	// A finished run's stream is its log and its end.
	resp, stop = e.openStream(run.ID, "")
	defer stop()
	var names []string
	for ev := range readSSE(resp) {
		names = append(names, ev.Name)
	}
	g.Expect(names).To(Equal([]string{"entry", "entry", "entry", "entry", "entry", "end"}))
}

func TestClientFollowsARunToItsEnd(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.submit("shop")
	run := e.start()
	seen := make(chan string, 100)
	done := make(chan runs.Run, 1)
	go func() {
		r, err := e.client(readToken).Follow(e.ctx(), run.ID, "", func(en runs.Entry) error { seen <- en.String(); return nil })
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	g.Eventually(seen).Should(Receive(Equal("run starting (start, attempt 1)")))
	_, err := e.store.Apply(e.ctx(), run.ID, runs.EventReady, runs.Update{Fence: run.Fence})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = e.store.Apply(e.ctx(), run.ID, runs.EventFail, runs.Update{Fence: run.Fence, Error: "tests failed"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(seen).Should(Receive(Equal("run failed (fail, attempt 1): tests failed")))
	g.Eventually(done).Should(Receive(HaveField("State", runs.StateFailed)))

	_, err = e.client(readToken).Follow(e.ctx(), "20260101-000000-none", "", func(runs.Entry) error { return nil })
	var apiErr *APIError
	g.Expect(errors.As(err, &apiErr)).To(BeTrue(), "%v", err)
	g.Expect(apiErr.Status).To(Equal(http.StatusNotFound))
}

func TestCancelAndRetryThroughTheAPI(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	run := e.submit("shop")
	admin := e.client(adminToken)

	got, err := admin.Cancel(e.ctx(), run.ID, "filed against the wrong repository")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.State).To(Equal(runs.StateCancelled))
	g.Expect(got.Cancel).To(And(HaveField("By", "alice"), HaveField("Reason", "filed against the wrong repository")))
	code, body, _ := e.call("POST", "/api/runs/"+run.ID+"/cancel", adminToken, "")
	g.Expect(code).To(Equal(http.StatusConflict))
	g.Expect(body).To(And(HaveKeyWithValue("error", "run "+run.ID+" is cancelled: only an unfinished run can be cancelled"), HaveKeyWithValue("state", "cancelled")))

	code, body, _ = e.call("POST", "/api/runs/"+run.ID+"/retry", adminToken, "")
	g.Expect(code).To(Equal(http.StatusConflict))
	g.Expect(body["error"]).To(ContainSubstring("cannot be retried yet: its ticket is still being told"))
	e.finalized(run.ID)
	got, err = admin.Retry(e.ctx(), run.ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(And(HaveField("State", runs.StateQueued), HaveField("Attempt", 2)))
	code, body, _ = e.call("POST", "/api/runs/"+run.ID+"/retry", adminToken, "")
	g.Expect(code).To(Equal(http.StatusConflict))
	g.Expect(body["error"]).To(Equal("run " + run.ID + " is queued: only a failed or cancelled run can be retried"))

	_, err = admin.Cancel(e.ctx(), run.ID, "")
	g.Expect(err).NotTo(HaveOccurred())
	e.finalized(run.ID)
	_, err = e.store.Submit(e.ctx(), runs.Submission{Project: "shop", Pipeline: "fix-bug", Tracker: "github", Ticket: run.Ticket, Repos: []string{"shop-api"}})
	g.Expect(err).NotTo(HaveOccurred())
	code, body, _ = e.call("POST", "/api/runs/"+run.ID+"/retry", adminToken, "")
	g.Expect(code).To(Equal(http.StatusConflict))
	g.Expect(body["error"]).To(ContainSubstring("ticket " + run.Ticket + " has an unfinished run"))
	g.Expect(body["activeRun"]).NotTo(BeEmpty())
}

func TestEveryAPIErrorIsJSON(t *testing.T) {
	e := newEnv(t)
	run := e.submit("shop")
	for _, tc := range []struct {
		method, path, body string
		status             int
		says               string
	}{
		{"GET", "/api/nothing", "", http.StatusNotFound, "no API at /api/nothing"},
		{"DELETE", "/api/runs/" + run.ID, "", http.StatusMethodNotAllowed, "method not allowed"},
		{"GET", "/api/runs/" + run.ID + "/cancel", "", http.StatusMethodNotAllowed, "method not allowed"},
		{"GET", "/api/runs?state=done", "", http.StatusBadRequest, `state "done" is not a run state`},
		{"GET", "/api/runs?limit=100000", "", http.StatusBadRequest, "limit"},
		{"GET", "/api/runs?cursor=zzz", "", http.StatusBadRequest, "bad cursor"},
		{"GET", "/api/runs/" + run.ID + "/events?after=yesterday", "", http.StatusBadRequest, "after"},
		{"GET", "/api/runs/not-an-id", "", http.StatusNotFound, "run ids look like"},
		{"POST", "/api/runs/" + run.ID + "/cancel", "{not json", http.StatusBadRequest, "body"},
		{"POST", "/api/runs/20260101-000000-none/retry", "", http.StatusNotFound, "no run"},
	} {
		code, body, _ := e.call(tc.method, tc.path, adminToken, tc.body)
		NewWithT(t).Expect(code).To(Equal(tc.status), "%s %s", tc.method, tc.path)
		NewWithT(t).Expect(body["error"]).To(ContainSubstring(tc.says), "%s %s", tc.method, tc.path)
	}
}

func TestParseTokensNamesWhatIsWrong(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"alice:admin", "entry 1: want NAME:ROLE:TOKEN"},
		{"alice:owner:0123456789abcdef", "entry 1 (alice): the role (second field) is neither read nor admin"},
		{"alice:s3cr3t-0123456789abcdef:admin", "entry 1 (alice): the role (second field) is neither read nor admin"},
		{"alice:admin:short", "entry 1 (alice): the token has 5 characters, fewer than 16"},
		{"a:read:0123456789abcdef,a:admin:fedcba9876543210", `entry 2: name "a" is used twice`},
		{"a:read:0123456789abcdef b:admin:0123456789abcdef", "entry 2 (b): same token as a"},
	} {
		_, err := ParseTokens(tc.text)
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.want)), tc.text)
		NewWithT(t).Expect(err.Error()).NotTo(Or(ContainSubstring("0123456789abcdef"), ContainSubstring("short")), "no token in the error: it is logged")
	}
	tokens, err := ParseTokens("\n  alice:admin:0123456789abcdef,\n  grafana:read:fedcba9876543210\n")
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	NewWithT(t).Expect(tokens.Len()).To(Equal(2))
}

func TestSessionCookiesAreSignedAndExpire(t *testing.T) {
	g := NewWithT(t)
	tokens, err := ParseTokens("alice:admin:" + adminToken)
	g.Expect(err).NotTo(HaveOccurred())
	now := time.Now()
	v := tokens.session(Identity{"alice", RoleAdmin}, now.Add(time.Hour))
	g.Expect(v).NotTo(ContainSubstring(adminToken))
	id, ok := tokens.verifySession(v, now)
	g.Expect(ok).To(BeTrue())
	g.Expect(id).To(Equal(Identity{"alice", RoleAdmin}))
	_, ok = tokens.verifySession(v, now.Add(2*time.Hour))
	g.Expect(ok).To(BeFalse(), "expired")
	parts := strings.Split(v, ".")
	_, ok = tokens.verifySession(parts[0]+"."+"99999999999."+parts[2], now)
	g.Expect(ok).To(BeFalse(), "a later expiry breaks the MAC")
	rotated, _ := ParseTokens("alice:admin:another-token-0123456789")
	_, ok = rotated.verifySession(v, now)
	g.Expect(ok).To(BeFalse(), "a new token ends the old sessions")
}

func ids(rs []runs.Run) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// dropAfterFirstEntry breaks the first event stream after its first entry,
// as a proxy or a port-forward that goes away would.
type dropAfterFirstEntry struct {
	http.ResponseWriter
	entries int
}

func (d *dropAfterFirstEntry) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "event: entry") {
		if d.entries++; d.entries > 1 {
			panic(http.ErrAbortHandler)
		}
	}
	return d.ResponseWriter.Write(p)
}

func (d *dropAfterFirstEntry) Unwrap() http.ResponseWriter { return d.ResponseWriter }

func TestClientFollowResumesAfterADroppedConnection(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	run := e.submit("shop")
	for _, msg := range []string{"one", "two", "three"} {
		g.Expect(e.store.AppendProgress(e.ctx(), run.ID, "", msg)).To(Succeed())
	}
	_, err := e.store.Cancel(e.ctx(), run.ID, "alice", "")
	g.Expect(err).NotTo(HaveOccurred())
	var streams atomic.Int32
	h := e.console.Handler()
	e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wantsStream(r) {
			if streams.Add(1) == 1 {
				w = &dropAfterFirstEntry{ResponseWriter: w}
			}
		}
		h.ServeHTTP(w, r)
	})

	var seen []string
	ended, err := e.client(readToken).Follow(e.ctx(), run.ID, "", func(en runs.Entry) error {
		seen = append(seen, en.String())
		return nil
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ended.State).To(Equal(runs.StateCancelled))
	g.Expect(streams.Load()).To(BeEquivalentTo(2), "one reconnect")
	g.Expect(seen).To(Equal([]string{"run queued (submit, attempt 1)", "one", "two", "three", "run cancelled (cancel, attempt 1) by alice"}),
		"every entry once, in order")
}
