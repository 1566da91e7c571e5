package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
)

// rawClient is a sandbox process that speaks the API by hand, as an
// attacker with whatever token it has would.
type rawClient struct {
	url string
	hc  *http.Client
}

func newRawClient(s *server) *rawClient {
	// The attacker does not bother to pin the certificate.
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxIdleConnsPerHost: 8} //nolint:gosec // the attacker's client
	return &rawClient{url: s.url, hc: &http.Client{Transport: tr}}
}

func (c *rawClient) post(t testing.TB, path, token string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, data
}

// take polls job's agent role with token until it gets a step.
func (c *rawClient) take(t testing.TB, job, token string) sandbox.Step {
	t.Helper()
	for {
		status, data := c.post(t, "/v1/agent/"+job+"/next", token, strings.NewReader(`{"running":""}`))
		if status == http.StatusNoContent {
			continue
		}
		if status != http.StatusOK {
			t.Fatalf("poll: %d %s", status, data)
		}
		var resp sandbox.NextResponse
		if err := json.Unmarshal(data, &resp); err != nil || resp.Step == nil {
			t.Fatalf("poll answer %s: %v", data, err)
		}
		return *resp.Step
	}
}

func TestHostileTokenOfOneJobOrRoleIsRefusedForAnother(t *testing.T) {
	g := NewWithT(t)
	s := startGateway(t, gateway.Options{TLS: true, PollHold: 200 * time.Millisecond, DeadAfter: 2 * time.Second})
	victim, _ := s.startSandbox(t)
	attacker := newJobID()
	_, err := s.Open(attacker)
	g.Expect(err).NotTo(HaveOccurred())
	stranger, err := gateway.New(gateway.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	own := s.Tokens(attacker).Agent
	c := newRawClient(s)

	// A step of the victim waits in its queue while the attacker tries.
	blocker := make(chan struct{})
	defer close(blocker)
	var events eventLog
	go func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { <-blocker; cancel() }()
		_, _ = victim.Run(ctx, run("sleep", "30"), events.add)
	}()
	g.Eventually(events.all).ShouldNot(BeEmpty(), "the victim's agent runs a step")
	queued := make(chan sandbox.StepResult, 1)
	go func() {
		res, _ := victim.Run(context.Background(), run("echo", "for the victim only"), nil)
		queued <- res
	}()

	v := victim.JobID()
	for name, try := range map[string]struct{ path, token string }{
		"no token":                           {"/v1/agent/" + v + "/next", ""},
		"its own job's token":                {"/v1/agent/" + v + "/next", own},
		"its own gate token":                 {"/v1/agent/" + v + "/next", s.Tokens(attacker).Gate},
		"the victim's agent token as gate":   {"/v1/gate/" + v + "/next", s.Tokens(v).Agent},
		"a truncated token":                  {"/v1/agent/" + v + "/next", s.Tokens(v).Agent[:20]},
		"the token of another replica":       {"/v1/agent/" + v + "/next", stranger.Tokens(v).Agent},
		"its own token on the victim result": {"/v1/agent/" + v + "/results/x", own},
		"its own token on the victim events": {"/v1/agent/" + v + "/events/x", own},
	} {
		status, _ := c.post(t, try.path, try.token, strings.NewReader(`{"running":""}`))
		g.Expect(status).To(Equal(http.StatusUnauthorized), name)
	}
	status, _ := c.post(t, "/v1/admin/"+v+"/next", own, strings.NewReader(`{}`))
	g.Expect(status).To(Equal(http.StatusNotFound), "no role but agent and gate")

	// Nothing leaked: the victim's own agent gets its step.
	blocker <- struct{}{}
	var res sandbox.StepResult
	g.Eventually(queued, 30*time.Second).Should(Receive(&res))
	g.Expect(res.Stdout).To(Equal("for the victim only\n"))
}

func TestHostileAgentResultOverTheCapIsRefusedBeforeDecoding(t *testing.T) {
	g := NewWithT(t)
	s := startGateway(t, gateway.Options{})
	job := newJobID()
	j, err := s.Open(job)
	g.Expect(err).NotTo(HaveOccurred())
	token := s.Tokens(job).Agent
	c := newRawClient(s)
	answered := make(chan sandbox.StepResult, 1)
	go func() {
		res, _ := j.Run(context.Background(), run("true"), nil)
		answered <- res
	}()
	step := c.take(t, job, token)

	// 200 MiB of JSON, with the job's own valid token.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	flood := io.MultiReader(strings.NewReader(`{"stepId":"`+step.StepID+`","stdout":"`), &zeros{n: 200 << 20})
	status, _ := c.post(t, "/v1/agent/"+job+"/results/"+step.StepID, token, flood)
	runtime.ReadMemStats(&after)
	g.Expect(status).To(Equal(http.StatusRequestEntityTooLarge))
	// TotalAlloc counts the whole process, the flooding client's buffers
	// too (and more under -race); decoding the flood would take well over
	// its 200 MiB, reading it at all about 200 MiB.
	g.Expect(after.TotalAlloc-before.TotalAlloc).To(BeNumerically("<", 100<<20), "the orchestrator read at most the cap")

	// The step still waits for an answer within the cap.
	body, _ := json.Marshal(sandbox.StepResult{SchemaVersion: 1, StepID: step.StepID, Stdout: "small"})
	status, _ = c.post(t, "/v1/agent/"+job+"/results/"+step.StepID, token, bytes.NewReader(body))
	g.Expect(status).To(Equal(http.StatusNoContent))
	g.Eventually(answered).Should(Receive(HaveField("Stdout", "small")))
}

func TestHostileEventFloodIsCutAtTheStepBudget(t *testing.T) {
	g := NewWithT(t)
	s := startGateway(t, gateway.Options{})
	job := newJobID()
	j, err := s.Open(job)
	g.Expect(err).NotTo(HaveOccurred())
	token := s.Tokens(job).Agent
	c := newRawClient(s)
	var mu sync.Mutex
	delivered := 0
	go func() {
		_, _ = j.Run(context.Background(), run("true"), func(ev sandbox.StepEvent) {
			mu.Lock()
			defer mu.Unlock()
			for _, l := range ev.Lines {
				delivered += len(l)
			}
		})
	}()
	step := c.take(t, job, token)
	g.Expect(step.Stream).To(BeTrue())

	line := strings.Repeat("x", sandbox.MaxEventRequestBytes/2)
	batch, _ := json.Marshal([]sandbox.StepEvent{{SchemaVersion: 1, StepID: step.StepID, Kind: sandbox.EventStdout, Lines: []string{line}}})
	big, _ := json.Marshal([]sandbox.StepEvent{{SchemaVersion: 1, StepID: step.StepID, Kind: sandbox.EventStdout, Lines: []string{strings.Repeat("y", sandbox.MaxEventRequestBytes)}}})
	status, _ := c.post(t, "/v1/agent/"+job+"/events/"+step.StepID, token, bytes.NewReader(big))
	g.Expect(status).To(Equal(http.StatusRequestEntityTooLarge), "one request over its cap")
	accepted := 0
	for range 2 * sandbox.StepEventBudget / len(batch) {
		status, _ := c.post(t, "/v1/agent/"+job+"/events/"+step.StepID, token, bytes.NewReader(batch))
		if status == http.StatusTooManyRequests {
			break
		}
		g.Expect(status).To(Equal(http.StatusNoContent))
		accepted += len(batch)
	}
	g.Expect(accepted).To(BeNumerically("<=", sandbox.StepEventBudget))
	g.Expect(accepted).To(BeNumerically(">", sandbox.StepEventBudget-2*len(batch)), "cut at the budget, not before")
	status, _ = c.post(t, "/v1/agent/"+job+"/events/"+step.StepID, token, bytes.NewReader(batch))
	g.Expect(status).To(Equal(http.StatusTooManyRequests), "and it stays cut")
	mu.Lock()
	defer mu.Unlock()
	g.Expect(delivered).To(BeNumerically("<=", sandbox.StepEventBudget))
}

func TestHostilePollFloodIsCappedPerJob(t *testing.T) {
	g := NewWithT(t)
	s := startGateway(t, gateway.Options{PollHold: 3 * time.Second})
	job := newJobID()
	_, err := s.Open(job)
	g.Expect(err).NotTo(HaveOccurred())
	token := s.Tokens(job).Agent
	c := newRawClient(s)
	statuses := make(chan int, 3)
	for range 3 {
		go func() {
			status, _ := c.post(t, "/v1/agent/"+job+"/next", token, strings.NewReader(`{"running":""}`))
			statuses <- status
		}()
	}
	// Two polls are held; the third is refused at once.
	g.Eventually(statuses, 2*time.Second).Should(Receive(Equal(http.StatusTooManyRequests)), "before the held ones end")
	status, _ := c.post(t, "/v1/gate/"+job+"/next", s.Tokens(job).Gate, strings.NewReader(`{"running":"x"}`))
	g.Expect(status).To(Equal(http.StatusNoContent), "the gate's polls are counted apart")
	for range 2 {
		g.Eventually(statuses, 10*time.Second).Should(Receive(Equal(http.StatusNoContent)))
	}
}

// zeros reads as n bytes of '0'.
type zeros struct{ n int }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), z.n)
	for i := range k {
		p[i] = '0'
	}
	z.n -= k
	return k, nil
}
