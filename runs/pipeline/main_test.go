package pipeline_test

import (
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// The end-to-end tests run real sandboxes: the agent-smith binary built
// from this checkout (testenv.AgentBinary), started by the local
// provisioner, through its sandbox API; the run store is in the package's
// redis-server (testenv.SharedRedis). The pure tests need neither.
func TestMain(m *testing.M) { testenv.Main(m) }
