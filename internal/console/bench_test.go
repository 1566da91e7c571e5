package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/agent-smith/agent-smith/runs"
)

// BenchmarkEventStreamFanOut measures what 100 clients following one run
// over loopback HTTP (Server-Sent Events, the CLI's client) add to each
// entry: the time from calling Append to a follower holding the entry, over
// every entry and follower. One blocking Redis read serves them all.
func BenchmarkEventStreamFanOut(b *testing.B) {
	const followers = 100
	e := newEnv(b)
	run := e.submit("shop")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	appended := map[string]time.Time{}
	lat := make([]time.Duration, 0, followers*b.N)
	var ready, done sync.WaitGroup
	ready.Add(followers)
	for range followers {
		done.Go(func() {
			c := e.client(readToken)
			c.HTTP = &http.Client{Transport: &http.Transport{}}
			first := true
			_, _ = c.Follow(ctx, run.ID, "", func(en runs.Entry) error {
				at := time.Now()
				if first { // the submission, from the backlog
					first = false
					ready.Done()
					return nil
				}
				mu.Lock()
				lat = append(lat, at.Sub(appended[en.Message]))
				mu.Unlock()
				return nil
			})
		})
	}
	ready.Wait() // every follower is subscribed and has read its backlog
	b.ResetTimer()
	for i := range b.N {
		msg := strconv.Itoa(i)
		mu.Lock()
		appended[msg] = time.Now()
		mu.Unlock()
		if err := e.store.AppendProgress(ctx, run.ID, "", msg); err != nil {
			b.Fatal(err)
		}
		// Entries a few milliseconds apart, as a busy run writes them.
		time.Sleep(2 * time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(lat)
		mu.Unlock()
		if n == followers*b.N || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	cancel()
	done.Wait()
	if len(lat) != followers*b.N {
		b.Fatalf("%d of %d deliveries", len(lat), followers*b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkRunListPage measures the server's time to render the run list
// (its first page of 50) with 1,000 runs in Redis.
func BenchmarkRunListPage(b *testing.B) {
	e := newEnv(b)
	for range 1000 {
		e.submit("shop")
	}
	client := &http.Client{}
	tokens, _ := ParseTokens("alice:admin:" + adminToken)
	cookie := &http.Cookie{Name: sessionCookie, Value: tokens.session(Identity{"alice", RoleAdmin}, time.Now().Add(time.Hour))}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest("GET", e.srv.URL+"/", nil)
		req.AddCookie(cookie)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET /: %v %v", err, resp)
		}
		buf := make([]byte, 64<<10)
		for {
			if _, err := resp.Body.Read(buf); err != nil {
				break
			}
		}
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()), "p99-µs")
}
