package server

import (
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// The run API's test reads a real run store (testenv.SharedRedis).
func TestMain(m *testing.M) { testenv.Main(m) }
