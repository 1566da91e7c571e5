package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
)

// chromium finds the browser: AGENTSMITH_CHROMIUM, else Debian's chromium
// (hack/test-deps.sh installs it), else a Chromium or Chrome on PATH (CI
// runners have Google Chrome).
func chromium() (string, error) {
	if p := os.Getenv("AGENTSMITH_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome on PATH; install it with make test-deps, or set AGENTSMITH_CHROMIUM")
}

// browser is one headless Chromium for the package's tests: each test
// opens tabs in it. Without a browser the tests fail (only -short skips
// them), so `make test` cannot pass without the browser test running.
var browser = testenv.NewShared("chromium (make test-deps installs it)", func() (context.Context, func(), error) {
	chromiumPath, err := chromium()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "agentsmith-chromium-")
	if err != nil {
		return nil, nil, err
	}
	// Without the background-networking flags Chromium reaches for
	// Google's services, which a closed network refuses slowly.
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.UserDataDir(dir),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true), chromedp.WindowSize(1280, 900),
	)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		_ = os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("start %s: %w", chromiumPath, err)
	}
	return ctx, func() { cancelBrowser(); cancelAlloc(); _ = os.RemoveAll(dir) }, nil
})

// tab opens a tab of the shared browser for the test; its actions get a
// deadline (the tab's first one must not: it would close the tab).
func tab(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser.Get(t))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// screenshot writes the page to tmp/NAME at the repository's root.
func screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "tmp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: tmp/%s", name)
}

// seedRuns fills the store with runs of every kind of ending, as a busy
// installation has them.
func (e *env) seedRuns(g Gomega) {
	ctx := e.ctx()
	done := e.submitTitled("web-shop", "Search ignores accents")
	doneFence := e.start().Fence
	for _, ev := range []runs.Event{runs.EventReady, runs.EventPublish, runs.EventSucceed} {
		_, err := e.store.Apply(ctx, done.ID, ev, runs.Update{Fence: doneFence, AddUsage: runs.Usage{InputTokens: 40000, OutputTokens: 6000, CostUSD: 0.0412},
			PullRequests: map[string]string{"shop-api": "https://github.com/acme/shop-api/pull/42"}})
		g.Expect(err).NotTo(HaveOccurred())
	}
	failed := e.submitTitled("billing", "Invoice totals round the wrong way")
	failedFence := e.start().Fence
	_, err := e.store.Apply(ctx, failed.ID, runs.EventFail, runs.Update{Fence: failedFence, Error: "tests still fail after 3 rounds: TestInvoiceTotals"})
	g.Expect(err).NotTo(HaveOccurred())
}

// TestBrowserFollowsARunsTranscriptLive signs in as an admin, reads the run
// list, opens a running run and watches its transcript grow while the test
// appends entries as a run's pipeline would; then it cancels the run with
// the page's button. It fails if an entry does not reach the page.
func TestBrowserFollowsARunsTranscriptLive(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.seedRuns(g)
	e.submitTitled("web-shop", "Cart total ignores the discount")
	ctx := e.ctx()
	// The queue holds only that run: the replica takes it.
	lease, err := e.store.Dequeue(ctx, runs.Owner{Name: "agent-smith-orchestrator-7d9f-x2"})
	g.Expect(err).NotTo(HaveOccurred())
	run := lease.Run()
	e.submitTitled("docs", "Document the retry policy")
	_, err = e.store.Apply(ctx, run.ID, runs.EventReady, runs.Update{Fence: run.Fence, Step: "execute",
		Plan:     "Fix the cart total for discounted items.\n\n1. **shop-api**: apply the discount before tax in `cart/total.go`\n2. **shop-api**: add a test for a discounted cart",
		AddUsage: runs.Usage{InputTokens: 18200, OutputTokens: 2400, CostUSD: 0.0187}})
	g.Expect(err).NotTo(HaveOccurred())
	for _, en := range []runs.Entry{
		{Phase: &runs.Phase{Name: "plan", Status: runs.PhaseEnded, Duration: runs.Duration(14 * time.Second)}},
		{Step: "execute", Phase: &runs.Phase{Name: "execute", Status: runs.PhaseStarted}},
		{Step: "execute", Model: &runs.ModelCall{Model: "claude-sonnet-4", InputTokens: 9100, OutputTokens: 820, CostUSD: 0.0096, Latency: runs.Duration(6200 * time.Millisecond)}},
		{Step: "execute", Tool: &runs.ToolCall{Name: "read_file", Arguments: `{"path":"cart/total.go"}`, Outcome: "ok, 84 lines", Duration: runs.Duration(3 * time.Millisecond)}},
	} {
		_, err := e.store.Append(ctx, run.ID, en)
		g.Expect(err).NotTo(HaveOccurred())
	}

	b := tab(t)
	g.Expect(chromedp.Do(b, chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`input[name=token]`)))).To(Succeed())
	g.Expect(chromedp.Run(b, chromedp.Location())).To(HaveSuffix("/login?next=%2F"), "no session: the sign-in form")
	g.Expect(chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS(`input[name=token]`), adminToken),
		chromedp.Submit(chromedp.CSS(`input[name=token]`)),
		chromedp.WaitVisible(chromedp.CSS(`#runs`)),
	)).To(Succeed())
	g.Expect(chromedp.Run(b, chromedp.Evaluate[string](`document.cookie`))).To(BeEmpty(), "the session cookie is HttpOnly")
	g.Expect(chromedp.Run(b, chromedp.Text(chromedp.CSS(`#runs tbody`)))).To(And(
		ContainSubstring("running"), ContainSubstring("succeeded"), ContainSubstring("failed"), ContainSubstring("queued")))
	screenshot(t, b, "console-runs.png")

	g.Expect(chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`a[href="/runs/`+run.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#transcript`)),
		chromedp.WaitVisible(chromedp.CSS(`#cancel`)),
	)).To(Succeed())
	// The run goes on while the page is open; every entry must show up.
	live := []runs.Entry{
		{Step: "execute", Tool: &runs.ToolCall{Name: "edit_file", Arguments: `{"path":"cart/total.go"}`, Outcome: "ok", Duration: runs.Duration(5 * time.Millisecond)}},
		{Step: "execute", Command: &runs.Command{Repo: "shop-api", Command: "go test ./cart/...", ExitCode: 1, Duration: runs.Duration(3400 * time.Millisecond),
			Output: "--- FAIL: TestDiscountedTotal (0.00s)\n    total_test.go:31: got 108.00, want 97.20\nFAIL"}},
		{Step: "execute", Model: &runs.ModelCall{Model: "claude-sonnet-4", InputTokens: 11800, OutputTokens: 510, CostUSD: 0.0112, Latency: runs.Duration(4100 * time.Millisecond)}},
		{Step: "execute", Command: &runs.Command{Repo: "shop-api", Command: "go test ./...", ExitCode: 0, Duration: runs.Duration(9100 * time.Millisecond), Output: "ok  \tshop-api/cart\t0.41s"}},
	}
	for _, en := range live {
		_, err := e.store.Append(ctx, run.ID, en)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(chromedp.Run(b, transcriptShows(en.String()))).To(BeTrue(), "the page shows %q", en.String())
	}
	screenshot(t, b, "console-run.png")

	g.Expect(chromedp.Do(b, chromedp.Click(chromedp.CSS(`#cancel`)), chromedp.WaitVisible(chromedp.CSS(`#retry`)))).To(Succeed())
	g.Expect(chromedp.Run(b, chromedp.Text(chromedp.CSS(`#state`)))).To(Equal("cancelled"))
	got, err := e.store.Get(ctx, run.ID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Cancel.By).To(Equal("alice"))
}

// transcriptShows waits up to 10 s for the transcript to hold text.
func transcriptShows(text string) chromedp.Action[bool] {
	quoted, _ := json.Marshal(text)
	return chromedp.Poll[bool](`document.getElementById("transcript").textContent.includes(`+string(quoted)+`)`,
		chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingMutation())
}

// BenchmarkBrowserFirstRenderOfRunList measures what a person waits for:
// Chromium's first contentful paint of the run list (its first page of 50)
// with 1,000 runs in Redis, signed in, from navigation start.
func BenchmarkBrowserFirstRenderOfRunList(b *testing.B) {
	e := newEnv(b)
	for i := range 1000 {
		e.submitTitled([]string{"web-shop", "billing", "docs"}[i%3], "Cart total ignores the discount")
	}
	t := tab(b)
	if err := chromedp.Do(t, chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=token]`), readToken),
		chromedp.Submit(chromedp.CSS(`input[name=token]`)),
		chromedp.WaitVisible(chromedp.CSS(`#runs`))); err != nil {
		b.Fatal(err)
	}
	paints, responses := make([]float64, 0, b.N), make([]float64, 0, b.N)
	b.ResetTimer()
	for range b.N {
		if err := chromedp.Do(t, chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#runs`))); err != nil {
			b.Fatal(err)
		}
		fcp, err := chromedp.Run(t, chromedp.Poll[float64](
			`performance.getEntriesByName("first-contentful-paint")[0]?.startTime`, chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			b.Fatal(err)
		}
		resp, err := chromedp.Run(t, chromedp.Evaluate[float64](`performance.getEntriesByType("navigation")[0].responseEnd`))
		if err != nil {
			b.Fatal(err)
		}
		paints, responses = append(paints, fcp), append(responses, resp)
	}
	b.StopTimer()
	slices.Sort(paints)
	slices.Sort(responses)
	b.ReportMetric(responses[len(responses)/2], "response-p50-ms")
	b.ReportMetric(paints[len(paints)/2], "fcp-p50-ms")
	b.ReportMetric(paints[len(paints)-1], "fcp-max-ms")
}
