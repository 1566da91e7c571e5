package intake

import (
	"bytes"
	"context"
	"encoding/gob"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

// BenchmarkWebhookIngest drives the endpoint on loopback with a Go load
// client in a separate process (so this process's CPU time is the server's
// alone): signed ~8 KB GitHub issues.labeled deliveries through the real
// HTTP server, HMAC check, JSON parse, resolution and the run store's submit
// script on the package's redis-server. "new-tickets" queues a run per
// delivery (the full submit path); "duplicates" redelivers one delivery
// (the dedup path); "store-stubbed" is the full path with a run store that
// answers at once, which is what intake itself costs; "http-only" answers
// with a handler that only reads the body: what loopback HTTP costs the
// server by itself.
//
// It reports deliveries/s and latency percentiles as the client saw them,
// and deliveries per CPU-second of the server process ("per core") and of
// the server plus redis-server.
//
//	go test -run '^$' -bench WebhookIngest -benchtime 10000x ./trackers/intake
func BenchmarkWebhookIngest(b *testing.B) {
	modes := []struct {
		name string
		mode benchMode
	}{{"new-tickets", benchNew}, {"duplicates", benchDuplicates}, {"store-stubbed", benchStoreStubbed}, {"http-only", benchHTTPOnly}}
	for _, m := range modes {
		// 4 senders show the latency of a delivery; 16 show it queueing
		// behind others on two cores.
		for _, clients := range []int{4, 16} {
			b.Run(m.name+"/clients="+strconv.Itoa(clients), func(b *testing.B) { benchIngest(b, m.mode, clients) })
		}
	}
}

type benchMode int

const (
	benchNew benchMode = iota
	benchDuplicates
	benchStoreStubbed
	benchHTTPOnly
)

// stubRuns queues every submission at once without Redis.
type stubRuns struct{ Runs }

func (stubRuns) Submit(context.Context, runs.Submission) (runs.SubmitResult, error) {
	return runs.SubmitResult{Outcome: runs.OutcomeQueued, RunID: "20261128-000000-stub"}, nil
}

// loadgenEnv, when set, makes the test binary a load generator: it reads a
// loadJob from the named file, sends it, and writes a loadResult next to it.
const loadgenEnv = "INTAKE_BENCH_LOADGEN"

type loadJob struct {
	URL        string
	Clients    int
	Want       int
	Deliveries []signed
}

type signed struct {
	Header http.Header
	Body   []byte
}

type loadResult struct {
	Latencies []time.Duration
	Elapsed   time.Duration
	Failure   string
}

func benchIngest(b *testing.B, mode benchMode, clients int) {
	e := newEnv(b)
	// An issue body sized so the whole delivery is about 8 KB.
	n := e.fake.CreateIssue("acme/shop", githubfake.NewIssue{Title: "Checkout fails with a 500 on pay",
		Body: strings.Repeat("Steps to reproduce: open the cart, pay, see the error. ", 120), Labels: []string{"agent-smith", "shop", "bug"}})
	base := e.fake.IssuesEvent("acme/shop", n, "labeled", "agent-smith", alice)
	job := loadJob{URL: e.srv.URL + "/webhooks/github/shop", Clients: clients, Want: http.StatusAccepted, Deliveries: make([]signed, b.N)}
	numberField := []byte(`"number":` + strconv.Itoa(n) + `,`)
	for i := range job.Deliveries {
		d := base
		if mode == benchNew {
			d = githubfake.Event(base.Event, bytes.Replace(base.Body, numberField, []byte(`"number":`+strconv.Itoa(100000+i)+`,`), 1))
		}
		job.Deliveries[i] = signed{Header: d.Header(shopSecret), Body: d.Body}
	}
	switch mode {
	case benchDuplicates:
		if a := e.deliver(b, "/webhooks/github/shop", shopSecret, base); a.Status != http.StatusAccepted {
			b.Fatalf("first delivery: %s", a)
		}
		job.Want = http.StatusOK
	case benchStoreStubbed:
		e.handler.runs = stubRuns{}
	case benchHTTPOnly:
		bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"outcome":"queued"}` + "\n"))
		}))
		defer bare.Close()
		job.URL = bare.URL
	}
	jobFile := filepath.Join(b.TempDir(), "job.gob")
	writeGob(b, jobFile, job)

	rdb := redis.NewClient(&redis.Options{Addr: testenv.SharedRedis(b).Addr})
	defer func() { _ = rdb.Close() }()
	redisCPU0, cpu0 := redisCPU(b, rdb), processCPU(b)
	b.SetBytes(int64(len(base.Body)))
	b.ResetTimer()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), loadgenEnv+"="+jobFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("load generator: %v: %s", err, out)
	}
	b.StopTimer()
	cpu, redisUsed := processCPU(b)-cpu0, redisCPU(b, rdb)-redisCPU0
	var res loadResult
	readGob(b, jobFile+".out", &res)
	if res.Failure != "" {
		b.Fatalf("load generator: %s", res.Failure)
	}
	if mode == benchNew {
		if q := len(e.queued(b)); q != b.N {
			b.Fatalf("%d runs queued for %d deliveries", q, b.N)
		}
	}
	lat := res.Latencies
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/res.Elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(b.N)/cpu, "deliveries/server-cpu-s")
	if mode == benchNew || mode == benchDuplicates {
		b.ReportMetric(float64(b.N)/(cpu+redisUsed), "deliveries/server+redis-cpu-s")
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(0.999), "p99.9-ms")
}

// runLoadgen is the load generator process: job.Clients connections send
// the job's deliveries as fast as they are answered.
func runLoadgen(jobFile string) int {
	var job loadJob
	f, err := os.Open(jobFile)
	if err != nil {
		return 2
	}
	err = gob.NewDecoder(f).Decode(&job)
	_ = f.Close()
	if err != nil {
		return 2
	}
	res := loadResult{Latencies: make([]time.Duration, len(job.Deliveries))}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: job.Clients, DisableCompression: true}}
	var next atomic.Int64
	var failure atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range job.Clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(job.Deliveries) {
					return
				}
				req, err := http.NewRequest(http.MethodPost, job.URL, bytes.NewReader(job.Deliveries[i].Body))
				if err != nil {
					failure.Store(err.Error())
					return
				}
				req.Header = job.Deliveries[i].Header
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failure.Store(err.Error())
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				res.Latencies[i] = time.Since(t0)
				if resp.StatusCode != job.Want {
					failure.Store("delivery " + strconv.Itoa(i) + ": " + resp.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if msg, ok := failure.Load().(string); ok {
		res.Failure = msg
	}
	out, err := os.Create(jobFile + ".out")
	if err != nil {
		return 2
	}
	if err := gob.NewEncoder(out).Encode(res); err != nil {
		_ = out.Close()
		return 2
	}
	if out.Close() != nil {
		return 2
	}
	return 0
}

func writeGob(b *testing.B, path string, v any) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := gob.NewEncoder(f).Encode(v); err != nil {
		b.Fatal(err)
	}
}

func readGob(b *testing.B, path string, v any) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := gob.NewDecoder(f).Decode(v); err != nil {
		b.Fatal(err)
	}
}

// processCPU is the user+system CPU time this process used so far, in
// seconds; a child's time is not in it.
func processCPU(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// redisCPU is redis-server's used_cpu_user + used_cpu_sys, in seconds.
func redisCPU(b *testing.B, rdb *redis.Client) float64 {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			total += f
		}
	}
	return total
}
