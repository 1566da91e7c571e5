package agent

import (
	"context"
	"encoding/json"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/internal/redisretry"
)

// Bounds of the events path: queued events waiting for Redis, entries kept
// in the stream (room for a reader that lags; a caller that watched a step
// trims what came before it, so what stays is about one step's output,
// itself bounded by streamBudget), the stream's lifetime should nobody
// delete it, and how much one round trip carries.
const (
	publishQueue   = 256
	streamMaxLen   = 10000
	eventsTTL      = 24 * time.Hour
	publishPerTrip = 64
)

// resultTTL keeps a result whose caller is away (a Redis outage, a
// restarting orchestrator) long enough to be collected.
const resultTTL = time.Hour

// publisher writes to Redis from one goroutine, in order: a step's events,
// then its result, often in one round trip. Events are best effort (a full
// queue or a failing Redis drops them); results are retried until they are
// in or the agent stops.
type publisher struct {
	rdb     *redis.Client
	key     string
	ch      chan pubItem
	stopped chan struct{}
	log     logr.Logger
}

type pubItem struct {
	event  []byte
	result *pendingResult
}

type pendingResult struct {
	key  string
	data []byte
	done chan error
}

func newPublisher(rdb *redis.Client, key string, log logr.Logger) *publisher {
	return &publisher{rdb: rdb, key: key, ch: make(chan pubItem, publishQueue), stopped: make(chan struct{}), log: log}
}

func (p *publisher) publish(ev sandbox.StepEvent) bool {
	data, err := json.Marshal(ev)
	if err != nil {
		return false
	}
	select {
	case p.ch <- pubItem{event: data}:
		return true
	default:
		return false
	}
}

// deliver pushes a result to key after every event published before it,
// and returns once it is in Redis, or when the agent stops and a last
// bounded try failed.
func (p *publisher) deliver(ctx context.Context, key string, data []byte) error {
	r := &pendingResult{key: key, data: data, done: make(chan error, 1)}
	select {
	case p.ch <- pubItem{result: r}:
	case <-p.stopped:
		return p.lastTry(ctx, r)
	}
	select {
	case err := <-r.done:
		return err
	case <-p.stopped:
		select {
		case err := <-r.done: // taken and handled before the loop ended
			return err
		default:
			return p.lastTry(ctx, r)
		}
	}
}

// loop sends what is queued, several items per round trip, until ctx ends.
func (p *publisher) loop(ctx context.Context) {
	defer close(p.stopped)
	for {
		var items []pubItem
		select {
		case it := <-p.ch:
			items = append(items, it)
		case <-ctx.Done():
			return
		}
	more:
		for len(items) < publishPerTrip && items[len(items)-1].result == nil {
			select {
			case it := <-p.ch:
				items = append(items, it)
			default:
				break more
			}
		}
		p.send(ctx, items)
	}
}

func (p *publisher) send(ctx context.Context, items []pubItem) {
	pipe := p.rdb.Pipeline()
	events := 0
	for _, it := range items {
		if it.event != nil {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: p.key, MaxLen: streamMaxLen, Approx: true, Values: []any{"data", it.event}})
			events++
		}
	}
	if events > 0 {
		pipe.Expire(ctx, p.key, eventsTTL)
	}
	// Only the last item can be a result (loop stops gathering there).
	r := items[len(items)-1].result
	var pushed *redis.IntCmd
	if r != nil {
		pushed = pipe.LPush(ctx, r.key, r.data)
		pipe.Expire(ctx, r.key, resultTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil && events > 0 {
		p.log.V(1).Info("events dropped", "events", events, "err", err.Error())
	}
	if r == nil {
		return
	}
	err := pushed.Err()
	retry := redisretry.Policy(2 * time.Second)
	for err != nil {
		p.log.V(1).Info("result not delivered yet; retrying", "key", r.key, "err", err.Error())
		if !redisretry.Pause(ctx, retry) {
			err = p.lastTry(ctx, r)
			break
		}
		err = p.push(ctx, r)
	}
	r.done <- err
}

func (p *publisher) push(ctx context.Context, r *pendingResult) error {
	_, err := p.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.LPush(ctx, r.key, r.data)
		pipe.Expire(ctx, r.key, resultTTL)
		return nil
	})
	return err
}

// lastTry is the one bounded attempt made for a result when the agent was
// told to stop.
func (p *publisher) lastTry(ctx context.Context, r *pendingResult) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return p.push(ctx, r)
}
