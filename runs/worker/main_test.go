package worker

import (
	"os"
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

func TestMain(m *testing.M) {
	// The test binary doubles as a replica process that tests kill.
	if os.Getenv(replicaEnv) != "" {
		os.Exit(runReplica())
	}
	testenv.Main(m)
}
