package e2e

import (
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// redisServer is the package's redis-server, for the end-to-end tests
// through the webhook endpoint.
var redisServer *testenv.Redis

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.WithRedis(&redisServer))
}
