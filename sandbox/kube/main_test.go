package kube_test

import (
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// The provisioner's tests share the agent binary (testenv.AgentBinary);
// the pod builder's need nothing.
func TestMain(m *testing.M) { testenv.Main(m) }
