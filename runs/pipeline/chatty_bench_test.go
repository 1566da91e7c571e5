package pipeline_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
)

// BenchmarkChattyTestSuiteRedisMemory measures what a run whose test suite
// prints a million lines costs Redis: used_memory, sampled every 50 ms
// while a fix-bug run with that test command executes through a local
// sandbox, less what it was before.
func BenchmarkChattyTestSuiteRedisMemory(b *testing.B) {
	var peak int64
	rdb := testenv.SharedRedis(b).Client(b)
	for b.Loop() {
		b.StopTimer()
		w := newWorld(b, "fix-bug.yaml", "test_command: seq 1 1000000 && sh test.sh")
		n := w.issue()
		base := usedMemory(b, rdb)
		stop, done := make(chan struct{}), make(chan int64)
		go func() {
			max := int64(0)
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				if m := usedMemory(b, rdb); m > max {
					max = m
				}
				select {
				case <-stop:
					done <- max
					return
				case <-tick.C:
				}
			}
		}()
		b.StartTimer()
		id := w.label(n)
		w.await(id, runs.StateSucceeded)
		b.StopTimer()
		close(stop)
		peak = max(peak, <-done-base)
		b.StartTimer()
	}
	b.ReportMetric(float64(peak), "redis-used-delta-max-bytes")
}

func usedMemory(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Error(err)
		return 0
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
