package controllers

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agent-smith/agent-smith/internal/testenv"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// unrelatedPod is someone else's pod of a realistic size.
func unrelatedPod(ns string, i int) *corev1.Pod {
	p := testPod(ns, fmt.Sprintf("web-%05d", i), map[string]string{"app": "web", "tier": "frontend", "pod-template-hash": "7d9f8c6b5"})
	p.Annotations = map[string]string{"checksum/config": strings.Repeat("0123456789abcdef", 32)}
	for j := range 10 {
		p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: fmt.Sprintf("SETTING_%d", j), Value: strings.Repeat("v", 40)})
	}
	return p
}

// heapWith starts a manager with cache options opts, waits until its pod
// informer holds what it selects, and returns the live heap then, with
// what the cache lists in ns.
func heapWith(t *testing.T, opts cache.Options, ns string) (uint64, int) {
	t.Helper()
	mgr, err := ctrl.NewManager(testenv.SharedCluster(t).Config, ctrl.Options{Metrics: metricsserver.Options{BindAddress: "0"}, Cache: opts})
	must(t, err)
	stop := startManager(t, mgr)
	defer stop()
	ctx := context.Background()
	_, err = mgr.GetCache().GetInformer(ctx, &corev1.Pod{})
	must(t, err)
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	pods := &corev1.PodList{}
	must(t, mgr.GetCache().List(ctx, pods, client.InNamespace(ns)))
	return liveHeap(), len(pods.Items)
}

func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestManagerCacheMemoryDoesNotGrowWithUnrelatedPods(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 5,000 pods")
	}
	const unrelated = 5000
	g := NewWithT(t)
	c := newClient(t)
	ctx := context.Background()
	empty, crowded := newNamespace(t, c), newNamespace(t, c)
	for _, ns := range []string{empty, crowded} {
		for i := range 3 {
			g.Expect(c.Create(ctx, testPod(ns, fmt.Sprintf("sandbox-%d", i), map[string]string{LabelManagedBy: AppName}))).To(Succeed())
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, unrelated)
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				if err := c.Create(ctx, unrelatedPod(crowded, i)); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range unrelated {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteAllOf(context.Background(), &corev1.Pod{}, client.InNamespace(crowded)) })
	t.Logf("created %d unrelated pods in %s", unrelated, time.Since(start).Round(time.Millisecond))

	base := liveHeap()
	filteredEmpty, n := heapWith(t, CacheOptions(empty, "agent-smith-config"), empty)
	g.Expect(n).To(Equal(3))
	filteredCrowded, n := heapWith(t, CacheOptions(crowded, "agent-smith-config"), crowded)
	g.Expect(n).To(Equal(3), "the cache holds the agent-smith pods only")
	unfiltered, n := heapWith(t, cache.Options{DefaultNamespaces: map[string]cache.Config{crowded: {}}}, crowded)
	g.Expect(n).To(Equal(unrelated + 3))

	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	growth := float64(filteredCrowded) - float64(filteredEmpty)
	control := float64(unfiltered) - float64(filteredEmpty)
	t.Logf("live heap with the manager's cache synced: before any manager %.1f MiB; label-filtered cache, empty namespace %.1f MiB; "+
		"label-filtered, %d unrelated pods %.1f MiB (growth %+.2f MiB); unfiltered cache of the same namespace %.1f MiB (growth %+.1f MiB)",
		mib(base), mib(filteredEmpty), unrelated, mib(filteredCrowded), growth/(1<<20), mib(unfiltered), control/(1<<20))
	g.Expect(control).To(BeNumerically(">", 5<<20), "the measurement can see %d cached pods", unrelated)
	g.Expect(growth).To(BeNumerically("<", control/10), "unrelated pods cost the filtered cache (next to) nothing")
}
