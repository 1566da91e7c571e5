package tools_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/local"
)

// The tools run against real sandboxes: the agent-smith binary built from
// this checkout (testenv.AgentBinary), started by the local provisioner,
// spoken to through its sandbox API.
func TestMain(m *testing.M) { testenv.Main(m) }

var runs atomic.Int32

// provision starts one sandbox per repo, each seeded with files
// (repo → path → content), and releases them when the test ends.
func provision(t testing.TB, files map[string]map[string]string) map[string]sandbox.Sandbox {
	t.Helper()
	p, err := local.New(local.Options{Executable: testenv.AgentBinary(t), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	run := fmt.Sprintf("tools-%d", runs.Add(1))
	req := sandbox.ProvisionRequest{RunID: run, Attempt: 1}
	for repo := range files {
		req.Repos = append(req.Repos, sandbox.RepoSpec{Name: repo})
	}
	ctx := context.Background()
	provisioned, err := p.Provision(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	sbs := map[string]sandbox.Sandbox{}
	for repo, pr := range provisioned {
		sbs[repo] = pr.Work
	}
	t.Cleanup(func() {
		if err := p.Release(context.Background(), run); err != nil {
			t.Errorf("release: %v", err)
		}
	})
	for repo, fs := range files {
		for path, content := range fs {
			if err := sandbox.WriteFile(ctx, sbs[repo], path, content); err != nil {
				t.Fatalf("seed %s/%s: %v", repo, path, err)
			}
		}
	}
	return sbs
}
