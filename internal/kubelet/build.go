package kubelet

import "github.com/agent-smith/agent-smith/internal/testenv"

// BuildAgent compiles the repository's agent-smith binary to path: the
// program of the agent image whose containers the kubelet runs. It is
// testenv.BuildAgent, kept here for the tests that set up a kubelet.
func BuildAgent(path string) error { return testenv.BuildAgent(path) }
