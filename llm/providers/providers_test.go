package providers_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/internal/fake"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

// loadConfig parses an agentsmith.yml whose agents block is agents, with
// the API keys in the environment the secrets block reads.
func loadConfig(t *testing.T, agents string) *config.Config {
	t.Helper()
	cfg, err := parseConfig(agents)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// configDoc is an agentsmith.yml whose agents block is agents; project app
// uses agent main.
func configDoc(agents string) string {
	return `
agents:
` + agents + `
repos:
  app: {type: git, url: "https://git.example.com/app.git"}
trackers:
  gh: {type: github, project: acme/app, auth: github_token}
projects:
  app: {agent: main, tracker: gh, repos: [app]}
skills: {source: default, version: v3.0.1}
secrets:
  openai_api_key: ${OPENAI_API_KEY}
  azure_openai_api_key: ${OPENAI_API_KEY}
  anthropic_api_key: ${OPENAI_API_KEY}
  gemini_api_key: ${OPENAI_API_KEY}
  github_token: ${GITHUB_TOKEN}
`
}

func parseConfig(agents string) (*config.Config, error) {
	env := map[string]string{"OPENAI_API_KEY": fake.Key, "GITHUB_TOKEN": "ghp-test"}
	return config.Parse([]byte(configDoc(agents)), "agentsmith.yml", func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
}

const chatAnswer = `{"id":"c","model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"hello"}}],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}`
const messagesAnswer = `{"id":"m","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":2}}`
const ollamaAnswer = `{"model":"qwen3:8b","created_at":"2026-11-02T09:21:02.5Z","message":{"role":"assistant","content":"hello"},"done_reason":"stop","done":true,"prompt_eval_count":10,"eval_count":2}`

// showAnswer is Ollama's /api/show of qwen3:8b (context length 40960,
// tools), the ollama package's contract fixture.
func showAnswer(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "ollama", "testdata", "show.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

const geminiAnswer = `{"candidates":[{"content":{"role":"model","parts":[{"text":"hello"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":2,"totalTokenCount":12},"modelVersion":"gemini-2.5-pro"}`

func TestEveryAgentTypeReachesItsAPIWithTheKeyFromSecrets(t *testing.T) {
	for _, tc := range []struct {
		name, agent, path, keyHeader, keyValue, model string
		answers                                       []string
		tls                                           bool
	}{
		{name: "openai", agent: "type: openai\n    model: gpt-4.1", answers: []string{chatAnswer}, tls: true,
			path: "/v1/chat/completions", keyHeader: "Authorization", keyValue: "Bearer " + fake.Key, model: "gpt-4.1"},
		{name: "azure_openai v1", agent: "type: azure_openai\n    model: gpt-4.1\n    deployment: gpt41-prod\n    endpoint: {{URL}}", answers: []string{chatAnswer},
			path: "/openai/v1/chat/completions", keyHeader: "api-key", keyValue: fake.Key, model: "gpt41-prod"},
		{name: "azure_openai dated", agent: "type: azure_openai\n    model: gpt-4.1\n    deployment: gpt41-prod\n    api_version: 2024-10-21\n    endpoint: {{URL}}", answers: []string{chatAnswer},
			path: "/openai/deployments/gpt41-prod/chat/completions", keyHeader: "api-key", keyValue: fake.Key},
		{name: "ollama", agent: "type: ollama\n    model: qwen3:8b\n    endpoint: {{URL}}", answers: []string{showAnswer(t), showAnswer(t), ollamaAnswer}, // the summarizer is shown too
			path: "/api/chat", keyHeader: "Authorization", keyValue: "", model: "qwen3:8b"},
		{name: "anthropic", agent: "type: anthropic\n    model: claude-sonnet-4-5\n    endpoint: {{URL}}", answers: []string{messagesAnswer},
			path: "/v1/messages", keyHeader: "x-api-key", keyValue: fake.Key, model: "claude-sonnet-4-5"},
		{name: "gemini", agent: "type: gemini\n    model: gemini-2.5-pro\n    endpoint: {{URL}}", answers: []string{geminiAnswer},
			path: "/v1beta/models/gemini-2.5-pro:generateContent", keyHeader: "x-goog-api-key", keyValue: fake.Key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			srv := fake.NewServer(t, tc.tls)
			for _, a := range tc.answers {
				srv.Queue(fake.Answer{Status: 200, Body: a})
			}
			cfg := loadConfig(t, "  main:\n    "+strings.ReplaceAll(tc.agent, "{{URL}}", srv.URL))
			m, err := providers.New(context.Background(), cfg, "main", llm.SlotExecution, providers.Options{HTTPClient: srv.RedirectingClient()})
			g.Expect(err).NotTo(HaveOccurred())
			resp, err := m.Provider.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(resp.Text).To(Equal("hello"))
			reqs := srv.Requests()
			req := reqs[len(reqs)-1]
			g.Expect(req.Path).To(Equal(tc.path))
			g.Expect(req.Header.Get(tc.keyHeader)).To(Equal(tc.keyValue))
			if tc.model != "" {
				g.Expect(req.Body).To(HaveKeyWithValue("model", tc.model))
			}
		})
	}
}

func TestSlotsFallBackToTheAgentsModelAndPickTheirPrice(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: chatAnswer})
	cfg := loadConfig(t, `  main:
    type: openai
    model: gpt-4.1
    endpoint: `+srv.URL+`
    context_window: 64000
    models:
      planning: {model: o4-mini, max_output_tokens: 32000}
    pricing:
      gpt-4.1: {input_per_million: 2, output_per_million: 8, cached_input_per_million: 0.5}
      o4-mini: {input_per_million: 1.1, output_per_million: 4.4}
`)
	planning, err := providers.New(context.Background(), cfg, "main", llm.SlotPlanning, providers.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(planning.Name).To(Equal("o4-mini"))
	g.Expect(planning.MaxOutputTokens).To(Equal(32000))
	g.Expect(planning.Price.InputPerMillion).To(Equal(1.1))

	exec, err := providers.New(context.Background(), cfg, "main", llm.SlotExecution, providers.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(exec.Name).To(Equal("gpt-4.1"))
	g.Expect(exec.ContextWindow).To(Equal(64000))
	g.Expect(exec.Price.CachedInputPerMillion).To(Equal(0.5))
	g.Expect(exec.Compaction.Enabled).To(BeTrue())
	g.Expect(exec.Summarizer).NotTo(BeNil())
	g.Expect(exec.Summarizer.Name).To(Equal("gpt-4.1"), "the summarization slot falls back to the agent's model")

	_, err = exec.Provider.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Requests()[0].Body).To(HaveKeyWithValue("model", "gpt-4.1"))
}

func TestTheAgentsRetryBlockBinds(t *testing.T) {
	for _, tc := range []struct {
		retries  int
		succeeds bool
	}{{2, true}, {1, false}} {
		g := NewWithT(t)
		srv := fake.NewServer(t, false)
		throttled := fake.Answer{Status: 429, Header: map[string]string{"retry-after-ms": "5"}, Body: `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`}
		srv.Queue(throttled, throttled, fake.Answer{Status: 200, Body: chatAnswer})
		cfg := loadConfig(t, `  main:
    type: openai
    model: qwen3
    api_key_secret: ""
    endpoint: `+srv.URL+`
    retry: {max_retries: `+string(rune('0'+tc.retries))+`, initial_delay_ms: 1, backoff_multiplier: 2, max_delay_ms: 10}
`)
		m, err := providers.New(context.Background(), cfg, "main", llm.SlotExecution, providers.Options{})
		g.Expect(err).NotTo(HaveOccurred())
		_, err = m.Provider.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}})
		if tc.succeeds {
			g.Expect(err).NotTo(HaveOccurred())
		} else {
			g.Expect(err).To(MatchError(ContainSubstring("gave up after 2 attempts")))
		}
		g.Expect(srv.Requests()).To(HaveLen(tc.retries + 1))
	}
}

func TestRecordedRunReplaysAsAScriptedAgent(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	srv := fake.NewServer(t, false)
	srv.Queue(
		fake.Answer{Status: 200, Body: `{"id":"c","model":"qwen3","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"finish","arguments":"{\"summary\":\"all done\"}"}}]}}],"usage":{"prompt_tokens":50,"completion_tokens":5,"total_tokens":55}}`},
	)
	cfg := loadConfig(t, `  main:
    type: openai
    model: qwen3
    api_key_secret: ""
    endpoint: `+srv.URL+`
    record_to: recordings/{run}.yaml
  replay:
    type: scripted
    script: recordings/run-42.yaml
`)
	live, err := providers.New(context.Background(), cfg, "main", llm.SlotExecution, providers.Options{RunID: "run-42", BaseDir: dir})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.MkdirAll(filepath.Join(dir, "recordings"), 0o755)).To(Succeed())
	first, err := (&llm.Loop{Model: live}).Run(context.Background(), llm.LoopRequest{Prompt: "do it"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.Summary).To(Equal("all done"))

	replay, err := providers.New(context.Background(), cfg, "replay", llm.SlotExecution, providers.Options{BaseDir: dir})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(replay.Summarizer).To(BeNil(), "a scripted agent condenses mechanically")
	again, err := (&llm.Loop{Model: replay}).Run(context.Background(), llm.LoopRequest{Prompt: "do it"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.Stop).To(Equal(llm.StopFinished))
	g.Expect(again.Summary).To(Equal("all done"))
	g.Expect(again.Usage).To(Equal(first.Usage), "the recording keeps the usage")
	g.Expect(srv.Requests()).To(HaveLen(1), "the replay spent nothing")
}

func TestGateFromOptionsBoundsTheProvider(t *testing.T) {
	g := NewWithT(t)
	srv := fake.NewServer(t, false)
	srv.Queue(fake.Answer{Status: 200, Body: chatAnswer})
	cfg := loadConfig(t, "  main:\n    type: openai\n    model: qwen3\n    api_key_secret: \"\"\n    endpoint: "+srv.URL)
	gate := llm.NewGate(1)
	m, err := providers.New(context.Background(), cfg, "main", llm.SlotExecution, providers.Options{Gate: gate})
	g.Expect(err).NotTo(HaveOccurred())
	// Hold the only slot: the model's call must wait, and gives up with ctx.
	hold := gate.Wrap(llm.ProviderFunc(func(ctx context.Context, _ *llm.Request) (*llm.Response, error) { <-ctx.Done(); return nil, ctx.Err() }))
	holdCtx, release := context.WithCancel(context.Background())
	go func() { _, _ = hold.Chat(holdCtx, &llm.Request{}) }()
	g.Eventually(gate.InFlight).Should(Equal(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = m.Provider.Chat(ctx, &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}})
	g.Expect(errors.Is(err, context.Canceled)).To(BeTrue())
	g.Expect(srv.Requests()).To(BeEmpty())
	release()
	g.Eventually(gate.InFlight).Should(Equal(0))
	_, err = m.Provider.Chat(context.Background(), &llm.Request{Messages: []llm.Message{llm.UserMessage("hi")}})
	g.Expect(err).NotTo(HaveOccurred())
}

func TestUnknownAgentsAndSecretsAreErrorsWithoutValues(t *testing.T) {
	g := NewWithT(t)
	cfg := loadConfig(t, "  main:\n    type: openai\n    model: gpt-4.1")
	_, err := providers.New(context.Background(), cfg, "nope", llm.SlotExecution, providers.Options{})
	g.Expect(err).To(MatchError(ContainSubstring(`no agent "nope"`)))
	delete(cfg.Secrets, "openai_api_key")
	_, err = providers.New(context.Background(), cfg, "main", llm.SlotExecution, providers.Options{})
	g.Expect(err).To(MatchError(ContainSubstring(`the API key secret "openai_api_key" is not defined`)))
}

// Secrets never appear in logs or errors, whatever the provider sends
// back: retries are logged with their errors, a refused key echoed in the
// body, every model call at the most verbose level.
func TestSecretsNeverAppearInLogsOrErrors(t *testing.T) {
	g := NewWithT(t)
	var mu sync.Mutex
	var logs bytes.Buffer
	log := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		logs.WriteString(prefix + " " + args + "\n")
	}, funcr.Options{Verbosity: 10})
	ctx := logr.NewContext(context.Background(), log)

	srv := fake.NewServer(t, true)
	srv.Queue(
		fake.Answer{Status: 429, Header: map[string]string{"retry-after-ms": "1"}, Body: `{"error":{"message":"Rate limit for key ` + fake.Key + ` reached","type":"requests","code":"rate_limit_exceeded"}}`},
		fake.Answer{Status: 500, Body: `{"error":{"message":"upstream said: Authorization: Bearer ` + fake.Key + `","type":"server_error"}}`},
		fake.Answer{Status: 200, Body: `{"id":"c","model":"gpt-4.1","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"finish","arguments":"{\"summary\":\"ok\"}"}}]}}],"usage":{"prompt_tokens":50,"completion_tokens":5,"total_tokens":55}}`},
		fake.Answer{Status: 401, Body: `{"error":{"message":"Incorrect API key provided: ` + fake.Key + `.","type":"invalid_request_error","code":"invalid_api_key"}}`},
	)
	cfg := loadConfig(t, `  main:
    type: openai
    model: gpt-4.1
    retry: {max_retries: 3, initial_delay_ms: 1, backoff_multiplier: 2, max_delay_ms: 5}
`)
	m, err := providers.New(ctx, cfg, "main", llm.SlotExecution, providers.Options{HTTPClient: srv.RedirectingClient(), RunID: "r1"})
	g.Expect(err).NotTo(HaveOccurred())
	res, err := (&llm.Loop{Model: m, Budget: llm.NewBudget(5, 0)}).Run(ctx, llm.LoopRequest{Phase: "execution", Prompt: "go"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Stop).To(Equal(llm.StopFinished))

	_, err = (&llm.Loop{Model: m}).Run(ctx, llm.LoopRequest{Phase: "review", Prompt: "again"})
	g.Expect(err).To(HaveOccurred())
	log.Error(err, "run failed")

	mu.Lock()
	defer mu.Unlock()
	g.Expect(logs.String()).To(ContainSubstring("retrying"), "the retries were logged")
	g.Expect(logs.String()).To(ContainSubstring("model call"))
	g.Expect(logs.String()).To(ContainSubstring("<redacted>"), "the echoed key was removed, not dropped silently")
	for _, leak := range []string{fake.Key, fake.Key[:12], fake.Key[len(fake.Key)-12:]} {
		g.Expect(logs.String()).NotTo(ContainSubstring(leak))
		g.Expect(err.Error()).NotTo(ContainSubstring(leak))
	}
}
