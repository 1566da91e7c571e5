package controllers

// These tests prove the ground the design stands on, against a real
// kube-apiserver: leader election through a Lease, ownerReferences from a
// sandbox pod to its orchestrator pod, and a cache that holds only what
// agent-smith owns.

import (
	"context"
	"testing"
	"time"

	"github.com/agent-smith/agent-smith/internal/testenv"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

func TestLeaderElectionHoldsLeaseInNamespaceAndReleasesOnStop(t *testing.T) {
	g := NewWithT(t)
	c := newClient(t)
	ns := newNamespace(t, c)

	mgr, err := ctrl.NewManager(testenv.SharedCluster(t).Config, ctrl.Options{
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		LeaderElection:                true,
		LeaderElectionID:              "agent-smith-leader",
		LeaderElectionNamespace:       ns,
		LeaderElectionReleaseOnCancel: true,
	})
	g.Expect(err).NotTo(HaveOccurred())
	stop := startManager(t, mgr)

	g.Eventually(mgr.Elected()).WithTimeout(30 * time.Second).Should(BeClosed())
	lease := &coordinationv1.Lease{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "agent-smith-leader"}, lease)).To(Succeed())
	g.Expect(ptr.Deref(lease.Spec.HolderIdentity, "")).NotTo(BeEmpty())

	stop()
	g.Eventually(func() string {
		g.Expect(c.Get(context.Background(), client.ObjectKeyFromObject(lease), lease)).To(Succeed())
		return ptr.Deref(lease.Spec.HolderIdentity, "")
	}).WithTimeout(10*time.Second).Should(BeEmpty(), "a stopped leader hands the lease back instead of letting it expire")
}

func TestSandboxPodReadsBackWithOwnerReferenceToOrchestratorPod(t *testing.T) {
	g := NewWithT(t)
	c := newClient(t)
	ns := newNamespace(t, c)
	ctx := context.Background()

	owner := testPod(ns, "orchestrator-0", nil)
	g.Expect(c.Create(ctx, owner)).To(Succeed())
	ref := metav1.OwnerReference{
		APIVersion: "v1", Kind: "Pod", Name: owner.Name, UID: owner.UID,
		BlockOwnerDeletion: ptr.To(false),
	}
	sandbox := testPod(ns, "sandbox-1", map[string]string{LabelManagedBy: AppName})
	sandbox.OwnerReferences = []metav1.OwnerReference{ref}
	g.Expect(c.Create(ctx, sandbox)).To(Succeed())

	got := &corev1.Pod{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(sandbox), got)).To(Succeed())
	g.Expect(got.OwnerReferences).To(Equal([]metav1.OwnerReference{ref}))
}

func TestManagerCacheSeesOnlyAgentSmithPodsAndItsConfigMap(t *testing.T) {
	g := NewWithT(t)
	c := newClient(t)
	ns := newNamespace(t, c)
	ctx := context.Background()

	for _, obj := range []client.Object{
		testPod(ns, "sandbox-a", map[string]string{LabelManagedBy: AppName}),
		testPod(ns, "unrelated", map[string]string{"app": "web"}),
		testPod(ns, "unlabeled", nil),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent-smith-config"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "someone-elses"}},
	} {
		g.Expect(c.Create(ctx, obj)).To(Succeed())
	}

	mgr, err := ctrl.NewManager(testenv.SharedCluster(t).Config, ctrl.Options{
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   CacheOptions(ns, "agent-smith-config"),
	})
	g.Expect(err).NotTo(HaveOccurred())
	startManager(t, mgr)
	cached := mgr.GetClient()

	pods := &corev1.PodList{}
	g.Eventually(func() ([]string, error) {
		err := cached.List(ctx, pods, client.InNamespace(ns))
		return names(pods.Items), err
	}).WithTimeout(10 * time.Second).Should(Equal([]string{"sandbox-a"}))
	g.Expect(apierrors.IsNotFound(cached.Get(ctx, client.ObjectKey{Namespace: ns, Name: "unlabeled"}, &corev1.Pod{}))).To(BeTrue())

	cms := &corev1.ConfigMapList{}
	g.Expect(cached.List(ctx, cms, client.InNamespace(ns))).To(Succeed())
	g.Expect(names(cms.Items)).To(Equal([]string{"agent-smith-config"}))
}

func newClient(t testing.TB) client.Client {
	t.Helper()
	c, err := client.New(testenv.SharedCluster(t).Config, client.Options{})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return c
}

// newNamespace creates a namespace of the test's own and deletes it after.
func newNamespace(t testing.TB, c client.Client) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	return ns.Name
}

// startManager runs mgr until the test ends or the returned stop is called,
// which waits for the manager to return.
func startManager(t testing.TB, mgr ctrl.Manager) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func testPod(ns, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
	}
}

func names[T any, PT interface {
	*T
	client.Object
}](items []T) []string {
	out := make([]string, 0, len(items))
	for i := range items {
		out = append(out, PT(&items[i]).GetName())
	}
	return out
}
