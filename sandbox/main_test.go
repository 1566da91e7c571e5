package sandbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/agenttest"
)

// The tests that need them share a redis-server (testenv.SharedRedis) and
// the agent binary (testenv.AgentBinary).
func TestMain(m *testing.M) { testenv.Main(m) }

// startSandbox runs an agent for a fresh job and returns a Remote for it,
// once the agent's heartbeat is up.
func startSandbox(t testing.TB, opts sandbox.RemoteOptions, flags ...string) (*sandbox.Remote, *agenttest.Agent) {
	t.Helper()
	return startWrappedSandbox(t, nil, opts, flags...)
}

func startWrappedSandbox(t testing.TB, wrapper []string, opts sandbox.RemoteOptions, flags ...string) (*sandbox.Remote, *agenttest.Agent) {
	t.Helper()
	job := fmt.Sprintf("test-%d", time.Now().UnixNano())
	a := agenttest.StartWrapped(t, wrapper, testenv.AgentBinary(t), testenv.SharedRedis(t).URL(), job, flags...)
	r, err := sandbox.NewRemote(testenv.SharedRedis(t).Client(t), "", job, opts)
	if err != nil {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func() (bool, error) { return r.Alive(context.Background()) }, 10*time.Second, 10*time.Millisecond).
		Should(BeTrue(), "agent heartbeat")
	return r, a
}

func run(argv ...string) sandbox.Step {
	return sandbox.Step{Kind: sandbox.KindRun, Command: argv[0], Args: argv[1:]}
}
