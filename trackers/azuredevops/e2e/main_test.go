package e2e

import (
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// The end-to-end tests through the webhook endpoint share a redis-server
// (testenv.SharedRedis).
func TestMain(m *testing.M) { testenv.Main(m) }
