package runs

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// BenchmarkSubmit measures runs/s through the whole webhook path — delivery
// dedup, ticket claim, run creation, enqueue — from parallel clients.
func BenchmarkSubmit(b *testing.B) {
	server(b).Flush(b)
	s, _ := newStore(b, Options{})
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(8) // 8 × GOMAXPROCS concurrent webhook handlers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			sub := ticket(i)
			sub.DeliveryID = "delivery-" + strconv.Itoa(i)
			res, err := s.Submit(ctx, sub)
			if err != nil || res.Outcome != OutcomeQueued {
				b.Errorf("submit %d: %v %v", i, res.Outcome, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}

// BenchmarkSubmitToDequeue measures the time from calling Submit to a
// blocked consumer holding the started run, with two consumers (separate
// stores and connections, as two replicas) waiting on the queue.
func BenchmarkSubmitToDequeue(b *testing.B) {
	server(b).Flush(b)
	opts := Options{BlockTimeout: 100 * time.Millisecond}
	a, _ := newStore(b, opts)
	opts.Prefix = a.opts.Prefix
	c, _ := newStore(b, opts)
	ctx, cancel := context.WithCancel(context.Background())

	var submitted sync.Map // ticket → time Submit was called
	taken := make(chan time.Duration, 1)
	var wg sync.WaitGroup
	for i, s := range []*Store{a, c} {
		wg.Go(func() {
			for {
				l, err := s.Dequeue(ctx, Owner{Name: "replica-" + strconv.Itoa(i)})
				if err != nil {
					return
				}
				at := time.Now()
				l.Close()
				t0, _ := submitted.Load(l.Run().Ticket)
				taken <- at.Sub(t0.(time.Time))
			}
		})
	}
	// Both consumers are blocked before the clock starts.
	if _, err := a.Reclaim(ctx, "warm-up"); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		sub := ticket(i)
		submitted.Store(sub.Ticket, time.Now())
		if _, err := a.Submit(ctx, sub); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, <-taken)
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()), "p99-µs")
}

// BenchmarkMemoryPer1000QueuedRuns measures what 1,000 queued runs cost in
// Redis (used_memory delta): run hashes, ticket claims, delivery keys, queue
// entries and the state index.
func BenchmarkMemoryPer1000QueuedRuns(b *testing.B) {
	ctx := context.Background()
	var total int64
	for range b.N {
		b.StopTimer()
		server(b).Flush(b)
		s, rdb := newStore(b, Options{})
		warm := ticket(-1)
		if _, err := s.Submit(ctx, warm); err != nil { // loads the script
			b.Fatal(err)
		}
		before := usedMemory(b, rdb)
		b.StartTimer()
		for i := range 1000 {
			sub := ticket(i)
			sub.DeliveryID = fmt.Sprintf("%08x-4f1c-4c3b-9d7e-%012d", i, i)
			if _, err := s.Submit(ctx, sub); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		total += usedMemory(b, rdb) - before
	}
	b.ReportMetric(float64(total)/float64(b.N), "bytes/1000runs")
}

var usedMemoryLine = regexp.MustCompile(`(?m)^used_memory:(\d+)`)

func usedMemory(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	m := usedMemoryLine.FindStringSubmatch(info)
	if m == nil {
		b.Fatalf("no used_memory in INFO memory")
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// BenchmarkSubmitByFsync measures what `appendfsync always` (the shipped
// Redis, manifests/redis.yaml) costs against Redis's default everysec on
// the webhook path: one Submit at a time (latency, p50 and p99) and 16 in
// parallel (throughput), each on a redis-server of its own with AOF on.
func BenchmarkSubmitByFsync(b *testing.B) {
	for _, policy := range []string{"everysec", "always"} {
		b.Run(policy+"/serial", func(b *testing.B) {
			s := storeOn(b, testenv.OwnRedis(b, testenv.WithAOF(policy)).Addr, "fsync:", DefaultHeartbeatTTL)
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				if _, err := s.Submit(ctx, ticket(i)); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
		b.Run(policy+"/parallel", func(b *testing.B) {
			s := storeOn(b, testenv.OwnRedis(b, testenv.WithAOF(policy)).Addr, "fsync:", DefaultHeartbeatTTL)
			ctx := context.Background()
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Submit(ctx, ticket(int(n.Add(1)))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
		})
	}
}

// BenchmarkAppendEvent measures what recording one sandbox step costs its
// caller: bounding and scrubbing a step entry with 4 KiB of output, then one
// script that appends it to a full log (at its 1 MiB bound, so every append
// also drops the oldest). Issue 16 asks for under 1 ms p50.
func BenchmarkAppendEvent(b *testing.B) {
	server(b).Flush(b)
	s, _ := newStore(b, Options{})
	ctx := context.Background()
	id := submit(b, s, 1)
	output := strings.Repeat("--- PASS: TestCart (0.01s)\n", 150)
	step := Entry{Step: "execute", Command: &Command{Repo: "shop-api", Command: "go test ./...", ExitCode: 1,
		Duration: Duration(3 * time.Second), Output: output}}
	for range DefaultEventLimit {
		if _, err := s.Append(ctx, id, step); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := s.Append(ctx, id, step); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()), "p99-µs")
}
