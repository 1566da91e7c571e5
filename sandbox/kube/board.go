package kube

import (
	"context"
	"fmt"
	"sync"
)

// Board is where the sandbox reconciler posts what it saw of each sandbox
// and the Provisioner waits for it. Reconciler and pipeline of a run live
// in the same replica (the one that owns the run), so an in-process board
// is enough; sandboxes are keyed by job id, which names the run attempt,
// so a report about an older attempt never answers a newer one.
type Board struct {
	mu   sync.Mutex
	runs map[string]*boardRun
}

type boardRun struct {
	jobs map[string]string // job id → "" when ready, else why it failed
	// changed is closed and replaced on every post.
	changed chan struct{}
}

// NewBoard returns an empty board.
func NewBoard() *Board { return &Board{runs: map[string]*boardRun{}} }

// Ready posts that the sandbox job of run runID is up.
func (b *Board) Ready(runID, job string) { b.post(runID, job, "") }

// Failed posts that the sandbox job of run runID cannot come up, and why.
func (b *Board) Failed(runID, job, reason string) {
	if reason == "" {
		reason = "failed"
	}
	b.post(runID, job, reason)
}

func (b *Board) post(runID, job, reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.run(runID)
	if old, ok := r.jobs[job]; ok && old == reason {
		return
	}
	r.jobs[job] = reason
	close(r.changed)
	r.changed = make(chan struct{})
}

// Forget drops everything posted about run runID: it ended, or another
// replica owns it now.
func (b *Board) Forget(runID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.runs[runID]; ok {
		close(r.changed)
		delete(b.runs, runID)
	}
}

// Await blocks until every one of jobs of run runID is ready (nil), one of
// them failed (an error with the reason), or ctx ends.
func (b *Board) Await(ctx context.Context, runID string, jobs []string) error {
	for {
		b.mu.Lock()
		r := b.run(runID)
		ready := 0
		for _, job := range jobs {
			reason, posted := r.jobs[job]
			switch {
			case posted && reason != "":
				b.mu.Unlock()
				return fmt.Errorf("sandbox %s: %s", job, reason)
			case posted:
				ready++
			}
		}
		changed := r.changed
		b.mu.Unlock()
		if ready == len(jobs) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the sandboxes of run %s: %w", runID, ctx.Err())
		}
	}
}

// run returns the entry of runID, made on first use; b.mu is held.
func (b *Board) run(runID string) *boardRun {
	r, ok := b.runs[runID]
	if !ok {
		r = &boardRun{jobs: map[string]string{}, changed: make(chan struct{})}
		b.runs[runID] = r
	}
	return r
}
