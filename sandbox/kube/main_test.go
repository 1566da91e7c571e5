package kube_test

import (
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

var bin string

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.WithAgent(&bin))
}
