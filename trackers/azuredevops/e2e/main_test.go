package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// redisServer is the package's redis-server, for the end-to-end tests
// through the webhook endpoint.
var redisServer *testenv.Redis

func TestMain(m *testing.M) {
	var err error
	redisServer, err = testenv.StartRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	redisServer.Stop()
	os.Exit(code)
}
