package agent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agent-smith/agent-smith/sandbox"
)

// recorder keeps published events in memory.
type recorder struct {
	mu     sync.Mutex
	events []sandbox.StepEvent
}

func (r *recorder) publish(ev sandbox.StepEvent) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return true
}

func (r *recorder) all() []sandbox.StepEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sandbox.StepEvent(nil), r.events...)
}

// newTestExecutor returns an executor over a fresh work root holding files
// (path → content), and the root's path.
func newTestExecutor(t *testing.T, files map[string]string) (*executor, *recorder, string) {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := openWorkspace(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.close)
	rec := &recorder{}
	return newExecutor(ws, rec), rec, dir
}

var stepSeq atomic.Int64

// do runs a step built from s, filling in what every step needs.
func (x *executor) do(s sandbox.Step) sandbox.StepResult {
	return x.execute(context.Background(), prepared(s))
}

// prepared is s with what every step needs filled in.
func prepared(s sandbox.Step) sandbox.Step {
	s.SchemaVersion = sandbox.SchemaVersion
	s.StepID = "s" + strconv.FormatInt(stepSeq.Add(1), 10)
	if err := s.Validate(); err != nil {
		panic(err)
	}
	return s
}
