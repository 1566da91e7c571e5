// Package fake holds what the provider packages' tests share: an
// httptest server whose answers a test queues, which records every
// request it is sent, and a conversation that exercises every message
// kind.
//
// Test support: no production package may import it (depguard).
package fake

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/agent-smith/agent-smith/llm"
)

// Answer is one queued answer.
type Answer struct {
	Status int
	Header map[string]string
	Body   string
	// Truncate declares a longer body than is sent and drops the
	// connection, as a proxy cutting a response does.
	Truncate bool
}

// Request is what the server was sent.
type Request struct {
	Method string
	Path   string
	Query  map[string][]string
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// Server is a fake provider API.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	answers  []Answer
	requests []Request
}

// NewServer starts a server; plain HTTP unless tlsServer.
func NewServer(t testing.TB, tlsServer bool) *Server {
	s := &Server{}
	h := http.HandlerFunc(s.serve)
	if tlsServer {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// Queue adds answers; when they run out the last one repeats.
func (s *Server) Queue(a ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = append(s.answers, a...)
}

// Requests returns what was received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Raw: raw}
	_ = json.Unmarshal(raw, &req.Body)
	s.mu.Lock()
	s.requests = append(s.requests, req)
	a := Answer{Status: 500, Body: `{"error": "no answer queued"}`}
	if len(s.answers) > 0 {
		a = s.answers[0]
		if len(s.answers) > 1 {
			s.answers = s.answers[1:]
		}
	}
	s.mu.Unlock()
	// Every provider answers JSON, errors included; an answer may say
	// otherwise (a proxy's plain-text 503).
	w.Header().Set("Content-Type", "application/json")
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	if a.Truncate {
		w.Header().Set("Content-Length", strconv.Itoa(len(a.Body)*2))
		w.WriteHeader(a.Status)
		_, _ = io.WriteString(w, a.Body)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
		return
	}
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
}

// Fixture is a contract fixture of the calling package: a request or
// answer body under testdata/, written from the provider's documented
// examples.
func Fixture(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return string(data)
}

// RedirectingClient sends every request to the server, whatever host the
// URL names: a client pointed at the real API host reaches the fake.
func (s *Server) RedirectingClient() *http.Client {
	addr := s.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		// The fake presents its own test certificate for any host name.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
}

// Conversation exercises every message kind: system prompt, user text, an
// assistant turn with text and two tool calls, both results (one failed),
// and two tools.
func Conversation() *llm.Request {
	return &llm.Request{
		System: "You fix bugs.",
		Messages: []llm.Message{
			llm.UserMessage("Fix the failing test."),
			{Role: llm.RoleAssistant, Text: "Let me look.", ToolCalls: []llm.ToolCall{
				{ID: "call_1", Name: "read_file", Arguments: json.RawMessage(`{"path":"add.go"}`), Signature: "sig-1"},
				{ID: "call_2", Name: "run_command", Arguments: json.RawMessage(`{"command":"go test ./..."}`)},
			}},
			{Role: llm.RoleTool, ToolCallID: "call_1", ToolName: "read_file", Text: "func Add(a, b int) int { return a - b }"},
			{Role: llm.RoleTool, ToolCallID: "call_2", ToolName: "run_command", Text: "exit code 1", IsError: true},
		},
		Tools: []llm.ToolDef{
			{Name: "read_file", Description: "Read a file.", Parameters: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`)},
			{Name: "finish", Description: "Finish.", Parameters: json.RawMessage(`{"type":"object","properties":{"summary":{"type":"string"}}}`)},
		},
		MaxOutputTokens: 4096,
	}
}

// Key is the API key the tests use; it must never show up in errors.
const Key = "sk-test-0123456789abcdef"
