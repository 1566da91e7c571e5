package agent

import (
	"context"
	"errors"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/apiclient"
)

// Bounds of the events path: events waiting to be sent (a full queue
// drops them: a step never waits for its watcher), and what one request
// carries, below the API's limit.
const (
	publishQueue   = 256
	requestBudget  = sandbox.MaxEventRequestBytes * 3 / 4
	publishPerTrip = 64
)

// publisher sends the events of watched steps to the sandbox API from one
// goroutine, in order, several per request. It is best effort: a failed
// request drops its events, and a step whose budget the API says is spent
// streams nothing more.
type publisher struct {
	c   *apiclient.Client
	ch  chan pubItem
	log logr.Logger
	// spent is the step whose budget ran out (only the loop uses it).
	spent string
}

type pubItem struct {
	event   *sandbox.StepEvent
	flushed chan struct{} // a barrier: closed once everything before it went
}

func newPublisher(c *apiclient.Client, log logr.Logger) *publisher {
	return &publisher{c: c, ch: make(chan pubItem, publishQueue), log: log}
}

// publish queues ev (its lines are masked already); false when it had to
// be dropped.
func (p *publisher) publish(ev sandbox.StepEvent) bool {
	select {
	case p.ch <- pubItem{event: &ev}:
		return true
	default:
		return false
	}
}

// flush returns once every event queued before it was sent (or dropped),
// or ctx ended.
func (p *publisher) flush(ctx context.Context) {
	b := pubItem{flushed: make(chan struct{})}
	select {
	case p.ch <- b:
	case <-ctx.Done():
		return
	}
	select {
	case <-b.flushed:
	case <-ctx.Done():
	}
}

// loop sends what is queued until ctx ends.
func (p *publisher) loop(ctx context.Context) {
	for {
		var batch []sandbox.StepEvent
		size := 0
		select {
		case it := <-p.ch:
			if it.flushed != nil {
				close(it.flushed)
				continue
			}
			batch = append(batch, *it.event)
			size = eventSize(*it.event)
		case <-ctx.Done():
			return
		}
	more:
		for len(batch) < publishPerTrip && size < requestBudget {
			select {
			case it := <-p.ch:
				if it.flushed != nil {
					p.send(ctx, batch)
					close(it.flushed)
					batch = nil
					break more
				}
				if it.event.StepID != batch[0].StepID {
					p.send(ctx, batch)
					batch, size = nil, 0
				}
				batch = append(batch, *it.event)
				size += eventSize(*it.event)
			default:
				break more
			}
		}
		p.send(ctx, batch)
	}
}

func (p *publisher) send(ctx context.Context, batch []sandbox.StepEvent) {
	if len(batch) == 0 || batch[0].StepID == p.spent {
		return
	}
	err := p.c.Events(ctx, batch[0].StepID, batch)
	switch {
	case err == nil:
	case errors.Is(err, apiclient.ErrBudgetSpent):
		p.spent = batch[0].StepID
		p.log.V(1).Info("the step's event budget is spent; streaming stopped", "step", p.spent)
	default:
		p.log.V(1).Info("events dropped", "events", len(batch), "err", err.Error())
	}
}

// eventSize is about what ev adds to a request.
func eventSize(ev sandbox.StepEvent) int {
	n := 128
	for _, l := range ev.Lines {
		n += len(l) + 8
	}
	return n
}
