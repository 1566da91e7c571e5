package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
	"github.com/agent-smith/agent-smith/sandbox/internal/agenttest"
)

// The tests run the real agent (the agent-smith binary built from this
// checkout, testenv.AgentBinary) against a gateway served on loopback.
func TestMain(m *testing.M) { testenv.Main(m) }

// server is a gateway serving on a loopback port until the test ends.
type server struct {
	*gateway.Gateway
	url  string
	stop func()
}

func startGateway(t testing.TB, opts gateway.Options) *server {
	t.Helper()
	gw, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Serve(ctx, l) }()
	scheme := "http"
	if opts.TLS {
		scheme = "https"
	}
	s := &server{Gateway: gw, url: scheme + "://" + l.Addr().String()}
	var once atomic.Bool
	s.stop = func() {
		if once.CompareAndSwap(false, true) {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("serve: %v", err)
			}
		}
	}
	t.Cleanup(s.stop)
	return s
}

var jobs atomic.Int64

func newJobID() string { return fmt.Sprintf("test-%d-%d", time.Now().UnixNano(), jobs.Add(1)) }

// api is how an agent of job reaches s, with the job's agent token.
func (s *server) api(job string) agenttest.API {
	return agenttest.API{URL: s.url, CertPEM: s.CertPEM(), Token: s.Tokens(job).Agent}
}

// startSandbox runs an agent for a fresh job and returns the job once its
// agent polls.
func (s *server) startSandbox(t testing.TB, flags ...string) (*gateway.Job, *agenttest.Agent) {
	t.Helper()
	return s.startWrappedSandbox(t, nil, flags...)
}

func (s *server) startWrappedSandbox(t testing.TB, wrapper []string, flags ...string) (*gateway.Job, *agenttest.Agent) {
	t.Helper()
	id := newJobID()
	j, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	a := agenttest.StartWrapped(t, wrapper, testenv.AgentBinary(t), s.api(id), id, flags...)
	NewWithT(t).Eventually(func() bool { return j.Alive(sandbox.RoleAgent) }, 10*time.Second, 5*time.Millisecond).
		Should(BeTrue(), "the agent polls")
	return j, a
}

func run(argv ...string) sandbox.Step {
	return sandbox.Step{Kind: sandbox.KindRun, Command: argv[0], Args: argv[1:]}
}
