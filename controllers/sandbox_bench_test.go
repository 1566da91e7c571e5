package controllers

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
	"github.com/agent-smith/agent-smith/sandbox/kube"
	"github.com/agent-smith/agent-smith/trackers"
)

// BenchmarkRunToPodCreated measures the orchestrator's part of "webhook →
// sandbox": from the moment a run starts (the store's notification) to
// its pod being created, as an informer on the apiserver sees it, for many
// runs starting at once. No kubelet runs:
// pods stay Pending, only the write path counts. Each case first measures
// the raw apiserver creating as many pods of the same spec from 8
// concurrent clients, right before, so that the ratio of the two rates
// (overhead-x) holds even when the machine's load varies between cases.
func BenchmarkRunToPodCreated(b *testing.B) {
	for _, tc := range []struct {
		runs, workers int
		qps           float32 // 0: no client-side limiter
	}{
		{1, 8, 0}, {100, 8, 0}, {500, 8, 0}, {500, 16, 0}, {500, 32, 0}, {100, 8, 20},
	} {
		name := fmt.Sprintf("runs=%d/workers=%d/qps=%s", tc.runs, tc.workers, map[bool]string{true: "none", false: fmt.Sprint(tc.qps)}[tc.qps == 0])
		b.Run(name, func(b *testing.B) {
			for range b.N {
				raw := benchRawCreates(b, tc.runs, 8)
				orchestrated := benchRunsToPods(b, tc.runs, tc.workers, tc.qps)
				b.ReportMetric(raw, "raw-pods/s")
				b.ReportMetric(raw/orchestrated, "overhead-x")
			}
		})
	}
}

// protobuf is the wire format of both clients measured: the cheaper one
// for built-in types, on the apiserver's side too.
func protobuf(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	return cfg
}

// benchAPI gives the benchmark's sandboxes their tokens; no sandbox polls
// it (no kubelet runs).
var benchAPI = func() *gateway.Gateway {
	gw, err := gateway.New(gateway.Options{TLS: true})
	if err != nil {
		panic(err)
	}
	return gw
}()

// benchRunsToPods reports latency and rate of n runs entering
// provisioning at once, and returns the rate in pods/s.
func benchRunsToPods(b *testing.B, n, workers int, qps float32) float64 {
	testenv.SharedRedis(b).Flush(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := benchClient(b)
	ns := benchNamespace(b, c)
	owner := testPod(ns, "orchestrator-0", nil)
	must(b, c.Create(ctx, owner))
	me := runs.Owner{Name: owner.Name, UID: string(owner.UID)}
	cfg := sandboxTestConfig(b)

	restCfg := protobuf(testenv.SharedCluster(b).Config)
	if qps > 0 {
		restCfg.QPS, restCfg.Burst = qps, int(qps*1.5)
	}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{Metrics: metricsserver.Options{BindAddress: "0"},
		// The package runs many managers in one process; controller
		// names are unique per process.
		Controller: ctrlconfig.Controller{SkipNameValidation: ptr.To(true)},
		Cache:      CacheOptions(ns, "agent-smith-config"), Logger: logr.Discard()})
	must(b, err)
	var entered sync.Map // run id → time it started (its pods are made from then on)
	changes := NewRunChanges()
	store, err := runs.NewStore(testenv.SharedRedis(b).Client(b), runs.Options{Prefix: cfg.Queue.RedisPrefix, BlockTimeout: 50 * time.Millisecond,
		HeartbeatTTL: time.Hour, Notify: func(r runs.Run) {
			if r.State == runs.StateStarting {
				entered.Store(r.ID, time.Now())
			}
			changes.Notify(r)
		}})
	must(b, err)
	rec, err := NewSandboxReconciler(store, changes, trackers.NewCurrent(&trackers.Snapshot{Config: cfg}), kube.NewBoard(), mgr.GetEventRecorder("agent-smith-sandbox"),
		SandboxOptions{Namespace: ns, Owner: me, Tokens: benchAPI.Tokens, APIURL: "https://10.0.3.7:8443", APICert: benchAPI.CertPEM(),
			Image: "registry.test/agent-smith:test", MaxConcurrentReconciles: workers})
	must(b, err)
	must(b, rec.SetupWithManager(mgr))
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	mgr.GetCache().WaitForCacheSync(ctx)

	created := watchCreations(b, ctx, ns, n)
	for i := range n {
		_, err := store.Submit(ctx, runs.Submission{Project: "todo", Pipeline: "fix-bug", Tracker: "issues", Ticket: fmt.Sprint(i), Repos: []string{"api"}})
		must(b, err)
	}
	var wg sync.WaitGroup
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range 16 {
		wg.Go(func() {
			for range next {
				if _, err := store.Dequeue(ctx, me); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	seen := <-created

	var lat []time.Duration
	first, last := time.Time{}, time.Time{}
	entered.Range(func(k, v any) bool {
		t0 := v.(time.Time)
		t1, ok := seen[k.(string)]
		if !ok {
			b.Fatalf("run %s: no pod seen", k)
		}
		lat = append(lat, t1.Sub(t0))
		if first.IsZero() || t0.Before(first) {
			first = t0
		}
		if t1.After(last) {
			last = t1
		}
		return true
	})
	rate := reportLatencies(b, lat, last.Sub(first))
	_ = c.DeleteAllOf(context.Background(), &corev1.Pod{}, client.InNamespace(ns))
	return rate
}

// watchCreations yields, once n sandbox pods were added in ns, the time
// each was first seen, by run id. An informer, not a bare watch: the
// apiserver closes watches that fall behind under load, and the informer
// resumes where it was.
func watchCreations(b *testing.B, ctx context.Context, ns string, n int) <-chan map[string]time.Time {
	c, err := cache.New(testenv.SharedCluster(b).Config, cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}})
	must(b, err)
	inf, err := c.GetInformer(ctx, &corev1.Pod{})
	must(b, err)
	out := make(chan map[string]time.Time, 1)
	var mu sync.Mutex
	seen := map[string]time.Time{}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Labels[kube.LabelComponent] != kube.ComponentSandbox {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, dup := seen[pod.Labels[kube.LabelRun]]; dup {
			return
		}
		seen[pod.Labels[kube.LabelRun]] = time.Now()
		if len(seen) == n {
			out <- seen
		}
	}})
	must(b, err)
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("pod informer did not sync")
	}
	return out
}

// benchRawCreates creates n sandbox pods from clients concurrent clients
// and returns the rate in pods/s.
func benchRawCreates(b *testing.B, n, clients int) float64 {
	ctx := context.Background()
	c := benchClient(b)
	ns := benchNamespace(b, c)
	cfg := sandboxTestConfig(b)
	builder := testBuilder(b, ns, runs.Owner{Name: "orchestrator-0", UID: "uid-0"})
	pods := make(chan *corev1.Pod, n)
	for i := range n {
		pod, err := builder.Pod(cfg, kube.Spec{RunID: fmt.Sprintf("20261128-000000-%04d", i), Attempt: 1, Project: "todo", Repo: "api", Branch: "agent-smith/1"})
		must(b, err)
		pods <- pod
	}
	close(pods)
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for pod := range pods {
				t0 := time.Now()
				if err := c.Create(ctx, pod); err != nil {
					b.Error(err)
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	_ = c.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(ns))
	return float64(n) / elapsed.Seconds()
}

// reportLatencies reports p50, p99 and the rate over span, and returns
// the rate.
func reportLatencies(b *testing.B, lat []time.Duration, span time.Duration) float64 {
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(pct(0.50)), "p50-ms")
	b.ReportMetric(ms(pct(0.99)), "p99-ms")
	rate := float64(len(lat)) / span.Seconds()
	b.ReportMetric(rate, "pods/s")
	b.ReportMetric(0, "ns/op")
	return rate
}

func benchClient(b *testing.B) client.Client {
	c, err := client.New(protobuf(testenv.SharedCluster(b).Config), client.Options{})
	must(b, err)
	return c
}

func benchNamespace(b *testing.B, c client.Client) string {
	ns := &corev1.Namespace{}
	ns.GenerateName = "bench-"
	must(b, c.Create(context.Background(), ns))
	return ns.Name
}
