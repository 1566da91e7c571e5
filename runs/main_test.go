package runs

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// server is the package's redis-server, with AOF like the seed's StatefulSet
// so that a restart keeps the data set.
var server *testenv.Redis

func TestMain(m *testing.M) {
	var err error
	server, err = testenv.StartRedis(testenv.WithAppendOnly())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := seedPersistence(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		server.Stop()
		os.Exit(1)
	}
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

// seedPersistence sets the fsync policy the seed's `redis-server
// --appendonly yes` runs with (everysec), so benchmarks measure that and not
// the test helper's fsync-always.
func seedPersistence() error {
	c := redis.NewClient(&redis.Options{Addr: server.Addr})
	defer c.Close()
	return c.ConfigSet(context.Background(), "appendfsync", "everysec").Err()
}

var prefixes atomic.Int64

// newStore returns a store on the package's server under a key prefix of its
// own, so tests never see each other's keys.
func newStore(t testing.TB, opts Options) (*Store, *redis.Client) {
	t.Helper()
	c := server.Client(t)
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
		r, err := s.Dequeue(ctx, owner)
		ch <- dequeued{Run: r, Err: err}
	}()
	return ch
}

// dequeued is one Dequeue result; exported fields for gomega's HaveField.
type dequeued struct {
	Run Run
	Err error
}
