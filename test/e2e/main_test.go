// Package e2e holds the end-to-end flows of agent-smith: `agent-smith
// serve` replicas (this test binary, as processes) on a real redis-server,
// real git against bare repositories and the tracker fakes, with either
// sandbox backend; the kubernetes backend on an envtest control plane with
// the kubelet harness running the sandbox pods as processes.
package e2e

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/agent-smith/agent-smith/internal/cli"
	"github.com/agent-smith/agent-smith/internal/testenv"
)

// The test binary doubles as the agent-smith binary: the replicas (`serve`
// processes), the containers of the sandbox pods the kubelet harness runs
// (the init container's `inject`, the `sandbox-gate` sidecar, then
// `sandbox-agent`) and the local sandboxes (and their gates' credential
// helper) are this executable. It runs cli.Main as main does, so that
// each stops on SIGTERM as shipped.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == "serve" || os.Args[1] == "sandbox-agent" || os.Args[1] == "sandbox-gate" || os.Args[1] == "inject") {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := cli.Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
		stop()
		os.Exit(cli.ExitCode(err, os.Stderr))
	}
	testenv.Main(m)
}

// todoList is the seed's TodoList configuration the Azure DevOps flows
// start from.
const todoList = "../../config/testdata/todolist.yml"

// freeAddr is a loopback address no one listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// status is the status code of a GET of url, 0 when nothing answers.
func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
