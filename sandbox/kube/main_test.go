package kube_test

import (
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

var (
	rds *testenv.Redis
	bin string
)

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.WithRedis(&rds), testenv.WithAgent(&bin))
}
