package server

import (
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// rds is the package's redis-server: the run API reads a real run store.
var rds *testenv.Redis

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.WithRedis(&rds))
}
