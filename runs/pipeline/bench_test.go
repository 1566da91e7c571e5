package pipeline_test

import (
	"testing"

	"github.com/agent-smith/agent-smith/runs"
)

// BenchmarkFixBugRun measures a whole fix-bug run with a scripted model
// (so no model latency): webhook, queue, a local sandbox's agent start,
// git checkout, context, tool loop, tests, review, commit,
// push, pull request and ticket writes against the fakes. It is the
// orchestration overhead a real run adds to its model calls.
func BenchmarkFixBugRun(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		w := newWorld(b, "fix-bug.yaml", "")
		n := w.issue()
		b.StartTimer()
		id := w.label(n)
		w.await(id, runs.StateSucceeded)
	}
}
