package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/agent-smith/agent-smith/llm"
)

// modelCache keeps the models of a run across its attempts on this
// replica: one model per slot per run. A run that parks for questions and
// resumes here continues with the same models, which matters for a
// scripted agent (its replay goes on where it stopped instead of asking
// the same questions again). A run that ends is forgotten; runs that
// moved on to another replica are pruned after the retention period.
type modelCache struct {
	mu   sync.Mutex
	runs map[string]*runModels
}

type runModels struct {
	slots map[llm.Slot]*llm.Model
	used  time.Time
}

func newModelCache() *modelCache { return &modelCache{runs: map[string]*runModels{}} }

// get returns run's model of slot, building it once.
func (c *modelCache) get(ctx context.Context, run string, slot llm.Slot, now time.Time, build func(context.Context) (*llm.Model, error)) (*llm.Model, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rm, ok := c.runs[run]
	if !ok {
		rm = &runModels{slots: map[llm.Slot]*llm.Model{}}
		c.runs[run] = rm
	}
	rm.used = now
	if m, ok := rm.slots[slot]; ok {
		return m, nil
	}
	m, err := build(ctx)
	if err != nil {
		return nil, err
	}
	rm.slots[slot] = m
	return m, nil
}

// forget drops a finished run's models.
func (c *modelCache) forget(run string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.runs, run)
}

// prune drops the models of runs unused since before cutoff.
func (c *modelCache) prune(cutoff time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, rm := range c.runs {
		if rm.used.Before(cutoff) {
			delete(c.runs, id)
		}
	}
}
