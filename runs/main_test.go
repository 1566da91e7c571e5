package runs

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// aofRedis is the package's redis-server, with AOF like the seed's
// StatefulSet so that a restart keeps the data set; the store's tests start
// it, the state machine's and the hash's do not.
var aofRedis = testenv.NewShared("redis-server", func() (*testenv.Redis, func(), error) {
	r, err := testenv.StartRedis(testenv.WithAppendOnly())
	if err != nil {
		return nil, nil, err
	}
	if err := seedPersistence(r); err != nil {
		r.Stop()
		return nil, nil, err
	}
	return r, r.Stop, nil
})

func server(t testing.TB) *testenv.Redis { t.Helper(); return aofRedis.Get(t) }

// seedPersistence sets the fsync policy the seed's `redis-server
// --appendonly yes` runs with (everysec), so benchmarks measure that and not
// the test helper's fsync-always.
func seedPersistence(r *testenv.Redis) error {
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer c.Close()
	if err := c.ConfigSet(context.Background(), "appendfsync", "everysec").Err(); err != nil {
		return fmt.Errorf("redis-server appendfsync everysec: %w", err)
	}
	return nil
}

var prefixes atomic.Int64

// newStore returns a store on the package's server under a key prefix of its
// own, so tests never see each other's keys.
func newStore(t testing.TB, opts Options) (*Store, *redis.Client) {
	t.Helper()
	c := server(t).Client(t)
	if opts.Prefix == "" {
		opts.Prefix = "t" + strconv.FormatInt(prefixes.Add(1), 10) + ":"
	}
	s, err := NewStore(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func ticket(n int) Submission {
	return Submission{
		Project: "shop", Pipeline: "fix-bug", Tracker: "github", Ticket: "acme/shop#" + strconv.Itoa(n),
		TicketURL: "https://github.com/acme/shop/issues/" + strconv.Itoa(n), TicketTitle: "Checkout fails",
		Labels: []string{"agent-smith"}, Repos: []string{"shop-api", "shop-web"},
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// submit queues a run for ticket n and returns its id.
func submit(t testing.TB, s *Store, n int) string {
	t.Helper()
	res, err := s.Submit(ctxT(t), ticket(n))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeQueued {
		t.Fatalf("submit ticket %d: outcome %s", n, res.Outcome)
	}
	return res.RunID
}

// dequeueAsync runs Dequeue in the background; the channel yields its result.
func dequeueAsync(ctx context.Context, s *Store, owner Owner) <-chan dequeued {
	ch := make(chan dequeued, 1)
	go func() {
		l, err := s.Dequeue(ctx, owner)
		d := dequeued{Lease: l, Err: err}
		if l != nil {
			d.Run = l.Run()
		}
		ch <- d
	}()
	return ch
}

// dequeued is one Dequeue result; exported fields for gomega's HaveField.
type dequeued struct {
	Run   Run
	Lease *Lease
	Err   error
}
