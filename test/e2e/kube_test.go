package e2e

// The end-to-end flows of the pipeline: `agent-smith serve` replicas
// (processes of this test binary) on a real redis-server,
// real git against bare repositories and the tracker fakes, with either
// sandbox backend. This file holds what every flow shares (the Redis, the
// world of one flow, its replicas and their logs) and the kubernetes
// backend's part: an envtest control plane and the kubelet harness running
// the sandbox pods as local processes (this test binary is the agent image:
// `inject`, then `sandbox-agent`). The local backend's part is in
// local_test.go; the flows are in github_test.go, flows_test.go,
// azuredevops_test.go and local_test.go.

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/agent-smith/agent-smith/internal/cli"
	"github.com/agent-smith/agent-smith/internal/kubelet"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/internal/version"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

// flowRedisServer is the redis-server every flow uses, started by the
// first flow as the manifests ship it: the replicas log in as its
// agent-smith user, and nobody else may do more than PING.
var flowRedisServer = testenv.NewShared("a redis-server as shipped", func() (*testenv.Redis, func(), error) {
	r, err := testenv.StartRedis(testenv.WithShippedConfig())
	if err != nil {
		return nil, nil, err
	}
	return r, r.Stop, nil
})

// flowRedis is the package's redis-server (flowRedisServer).
func flowRedis(t *testing.T) *testenv.Redis { t.Helper(); return flowRedisServer.Get(t) }

// kubeEnv is the envtest control plane of the kubernetes flows, with a
// kubeconfig file for KUBECONFIG, as a replica reads it through
// ctrl.GetConfig: an admin user of the control plane. The first kubernetes
// flow starts it; the local flows and the CLI tests never do.
type kubeEnv struct {
	cluster    *testenv.Cluster
	kubeconfig string
}

var sharedKube = testenv.NewShared("an envtest control plane", startKubeEnv)

func startKubeEnv() (*kubeEnv, func(), error) {
	cluster, err := testenv.StartCluster()
	if err != nil {
		return nil, nil, err
	}
	env := &kubeEnv{cluster: cluster}
	stop := func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop envtest:", err)
		}
		if env.kubeconfig != "" {
			_ = os.RemoveAll(filepath.Dir(env.kubeconfig))
		}
	}
	if err := env.writeKubeconfig(); err != nil {
		stop()
		return nil, nil, err
	}
	return env, stop, nil
}

func (e *kubeEnv) writeKubeconfig() error {
	user, err := e.cluster.Env.AddUser(envtest.User{Name: "e2e", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("envtest user for the replicas: %w", err)
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig of the envtest user: %w", err)
	}
	dir, err := os.MkdirTemp("", "agent-smith-e2e-")
	if err != nil {
		return err
	}
	e.kubeconfig = filepath.Join(dir, "kubeconfig")
	return os.WriteFile(e.kubeconfig, raw, 0o600)
}

// flowWorld is one flow's slice of the shared environment, whichever
// sandbox backend serves it: a Redis key prefix of its own, the run store
// under it, and the interleaved logs of its replicas.
type flowWorld struct {
	t      *testing.T
	rdb    *redis.Client
	store  *runs.Store
	prefix string
	logs   *flowLog
}

func newFlowWorld(t *testing.T, prefix string) *flowWorld {
	t.Helper()
	w := &flowWorld{t: t, rdb: flowRedis(t).Client(t), prefix: prefix, logs: &flowLog{}}
	var err error
	if w.store, err = runs.NewStore(w.rdb, runs.Options{Prefix: w.prefix}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replica and sandbox logs:\n%s", w.logs)
		}
	})
	return w
}

// writeConfig writes agentsmith.yml for the replicas.
func (w *flowWorld) writeConfig(yml []byte) string {
	w.t.Helper()
	path := filepath.Join(w.t.TempDir(), "agentsmith.yml")
	if err := os.WriteFile(path, yml, 0o644); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// replica is one `agent-smith serve` process: this test binary, as
// TestMain lets it play agent-smith.
type replica struct {
	owner runs.Owner
	// url is the public listener (webhooks, probes), adminURL the admin
	// one (run API, metrics), sandboxAPI where its sandboxes reach it
	// (kubernetes backend).
	url        string
	adminURL   string
	sandboxAPI string
	term       sync.Once
	cmd        *exec.Cmd
	exited     chan struct{}
	err        error
}

// startServe starts a replica named name, serving configPath on the
// flow's Redis with env added to the test process's environment (the
// backend's part), on a free port; it returns once the replica is ready.
// The test's end stops it.
func (w *flowWorld) startServe(name, configPath string, owner runs.Owner, env map[string]string, args ...string) *replica {
	w.t.Helper()
	return w.startServeAs(name, configPath, owner, env, serveProcess{args: args})
}

// serveProcess is how a replica's process differs from the default: this
// binary, as the test's user.
type serveProcess struct {
	args []string
	// exe and user, when set, run the replica as another user (and so its
	// local sandboxes), from a copy of this binary that user may run.
	exe  string
	user *syscall.Credential
}

// startServeAs is startServe with p.
func (w *flowWorld) startServeAs(name, configPath string, owner runs.Owner, env map[string]string, p serveProcess) *replica {
	w.t.Helper()
	env["AGENTSMITH_CONFIG"], env["REDIS_URL"] = configPath, flowRedis(w.t).URL()
	addr, adminAddr := freeAddr(w.t), freeAddr(w.t)
	exe := cmp.Or(p.exe, os.Args[0])
	cmd := exec.Command(exe, append([]string{"serve", "--addr", addr, "--admin-addr", adminAddr, "--log-format", "console"}, p.args...)...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if p.user != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.user}
	}
	cmd.Stdout, cmd.Stderr = io.Discard, w.logs.writer(name)
	// A sandbox process still holding the log pipe must not hold up the
	// replica's end.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		w.t.Fatalf("start replica %s: %v", name, err)
	}
	r := &replica{owner: owner, url: "http://" + addr, adminURL: "http://" + adminAddr, cmd: cmd, exited: make(chan struct{})}
	go func() {
		defer close(r.exited)
		r.err = cmd.Wait()
	}()
	w.t.Cleanup(func() {
		if err := r.stop(); err != nil {
			w.t.Errorf("replica %s: %v", name, err)
		}
	})
	NewWithT(w.t).Eventually(func() int {
		select {
		case <-r.exited:
			StopTrying(fmt.Sprintf("replica %s exited at start: %v", name, r.err)).Now()
		default:
		}
		return status(r.url + "/readyz")
	}).WithTimeout(time.Minute).WithPolling(50*time.Millisecond).Should(Equal(http.StatusOK), "replica %s ready", name)
	return r
}

// stop drains the replica as Kubernetes does (SIGTERM) and waits for it
// to exit; a replica that stops on its own exits 0.
// terminate sends the replica SIGTERM once: a second one, after its drain
// gave the signal back to the default action, would kill it.
func (r *replica) terminate() {
	r.term.Do(func() { _ = r.cmd.Process.Signal(syscall.SIGTERM) })
}

func (r *replica) stop() error {
	select {
	case <-r.exited:
		return r.err
	default:
	}
	r.terminate()
	select {
	case <-r.exited:
		return r.err
	case <-time.After(2 * time.Minute):
		_ = r.cmd.Process.Kill()
		return fmt.Errorf("replica %s did not stop within 2m of SIGTERM", r.owner.Name)
	}
}

// run reads run id from Redis.
func (w *flowWorld) run(g Gomega, id string) runs.Run {
	r, err := w.store.Get(context.Background(), id)
	g.Expect(err).NotTo(HaveOccurred())
	return r
}

// await waits for run id to reach state.
func (w *flowWorld) await(id string, state runs.State) runs.Run {
	w.t.Helper()
	g := NewWithT(w.t)
	// An ended run counts once its ticket was told (the finalizer).
	g.Eventually(func(g Gomega) runs.State {
		r := w.run(g, id)
		if r.Finalize == runs.FinalizePending {
			return "finalizing"
		}
		return r.State
	}).WithTimeout(2*time.Minute).WithPolling(100*time.Millisecond).
		Should(Equal(state), func() string { r := w.run(g, id); return fmt.Sprintf("step %s, error %q", r.Step, r.Error) })
	return w.run(g, id)
}

// progress is the run's event stream as "[step] message" lines.
func (w *flowWorld) progress(id string) string {
	lines, err := w.store.Events(context.Background(), id, "", 0)
	NewWithT(w.t).Expect(err).NotTo(HaveOccurred())
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "[%s] %s\n", l.Step, l.Message)
	}
	return b.String()
}

// expectNoSandboxKeys checks that no sandbox key is in Redis: sandboxes
// never talk to it.
func (w *flowWorld) expectNoSandboxKeys() {
	w.t.Helper()
	ctx := context.Background()
	var keys []string
	iter := w.rdb.Scan(ctx, 0, w.prefix+"sandbox:*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	NewWithT(w.t).Expect(iter.Err()).NotTo(HaveOccurred())
	NewWithT(w.t).Expect(keys).To(BeEmpty(), "sandbox keys in Redis")
}

// kubeWorld is a flow served by replicas with the kubernetes sandbox
// backend: a namespace of its own (whose name is the flow's Redis prefix)
// with the sandbox Secret, a kubelet for the namespace's sandbox pods, and
// a record of every sandbox pod that came and went.
type kubeWorld struct {
	*flowWorld
	ns   string
	c    client.Client
	pods *podHistory
}

// kubeWorldOptions are what differs between the flows' worlds.
type kubeWorldOptions struct {
	// secret is the sandbox Secret's data (agent-smith-secrets): the
	// variables the config's secrets read, under the same names.
	secret map[string]string
	// agentImage is the init container's image, which the kubelet runs as
	// this test binary.
	agentImage string
}

func newKubeWorld(t *testing.T, o kubeWorldOptions) *kubeWorld {
	t.Helper()
	flowRedis(t)
	kenv := sharedKube.Get(t)
	t.Setenv("KUBECONFIG", kenv.kubeconfig)
	ctx := context.Background()
	c, err := client.New(kenv.cluster.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	w := &kubeWorld{flowWorld: newFlowWorld(t, ns.Name+":"), ns: ns.Name, c: c}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "agent-smith-secrets"}, StringData: o.secret}
	if err := c.Create(ctx, secret); err != nil {
		t.Fatalf("create the sandbox Secret: %v", err)
	}

	log := funcr.New(func(prefix, args string) { w.logs.line("kubelet", prefix+" "+args) }, funcr.Options{})
	// The pods' containers run as their users when the tests run as root
	// (CI): the toolchain as 1000, the gate as 65532.
	kl, err := kubelet.Start(kenv.cluster.Config, kubelet.Options{
		Namespace: w.ns, Entrypoints: map[string][]string{o.agentImage: {agentImage(t)}}, Env: []string{"PATH=" + os.Getenv("PATH")},
		RunAsPodUsers: true, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kl.Stop)
	w.pods = recordPods(t, w.ns)
	return w
}

// startReplica creates the orchestrator pod name (so that the sandbox
// pods' ownerReferences point at a real object) and starts a replica with
// the kubernetes sandbox backend as that pod, with configPath.
func (w *kubeWorld) startReplica(name, configPath string) *replica {
	w.t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: name, Labels: map[string]string{"app": "agent-smith-orchestrator"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "agent-smith", Image: "registry.test/agent-smith:" + version.Version}}},
	}
	NewWithT(w.t).Expect(w.c.Create(context.Background(), pod)).To(Succeed())
	// The kubelet harness gives every pod 127.0.0.1: the replica's sandbox
	// API is on a port of its own there.
	api := freeAddr(w.t)
	r := w.startServe(name, configPath, runs.Owner{Name: pod.Name, UID: string(pod.UID)}, map[string]string{
		"SANDBOX_TYPE":         "kubernetes",
		"KUBERNETES_NAMESPACE": w.ns,
		"POD_NAME":             pod.Name,
		"POD_UID":              string(pod.UID),
		"POD_IP":               "127.0.0.1",
	}, "--sandbox-addr", api)
	r.sandboxAPI = "https://" + api
	return r
}

// agentCopy is this test binary where the pods' users may run it (go test
// builds it in a directory only its user enters), with the slim agent its
// inject copies beside it, made by the first flow that runs pods.
var agentCopy = testenv.NewShared("a copy of the test binary the pods' users may run", copyExecutable)

// agentImage is the path of agentCopy.
func agentImage(t *testing.T) string { t.Helper(); return agentCopy.Get(t) }

func copyExecutable() (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "agent-smith-e2e-agent-")
	if err != nil {
		return "", nil, err
	}
	stop := func() { _ = os.RemoveAll(dir) }
	path := filepath.Join(dir, "agent-smith")
	if err := os.Chmod(dir, 0o755); err != nil {
		stop()
		return "", nil, err
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		stop()
		return "", nil, err
	}
	if err := testenv.BuildSlimAgentBeside(path); err != nil {
		stop()
		return "", nil, err
	}
	return path, stop, nil
}

// leaseHolder is the holder of the replicas' leader Lease, once there is
// one.
func (w *kubeWorld) leaseHolder(g Gomega) string {
	lease := &coordinationv1.Lease{}
	g.Eventually(func(g Gomega) string {
		g.Expect(w.c.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: cli.LeaderLease}, lease)).To(Succeed())
		return ptr.Deref(lease.Spec.HolderIdentity, "")
	}).WithTimeout(time.Minute).ShouldNot(BeEmpty())
	return ptr.Deref(lease.Spec.HolderIdentity, "")
}

// expectNothingLeft waits for the run's sandboxes to be gone: no sandbox
// pod in the namespace (and the record of each one deleted), no sandbox key
// in Redis.
func (w *kubeWorld) expectNothingLeft() {
	w.t.Helper()
	g := NewWithT(w.t)
	g.Eventually(func(g Gomega) []string {
		list := &corev1.PodList{}
		g.Expect(w.c.List(context.Background(), list, client.InNamespace(w.ns),
			client.MatchingLabels{kube.LabelComponent: kube.ComponentSandbox})).To(Succeed())
		var names []string
		for _, p := range list.Items {
			names = append(names, p.Name)
		}
		return names
	}).WithTimeout(time.Minute).Should(BeEmpty(), "sandbox pods")
	// The record of the pods comes from a watch, which may lag the list.
	g.Eventually(w.pods.lives).WithTimeout(time.Minute).
		ShouldNot(ContainElement(HaveField("Deleted", false)), "the watch saw every sandbox pod go")
	w.expectNoSandboxKeys()
}

// podLife is what a sandbox pod was: as created, the phases it reported,
// and whether it is gone.
type podLife struct {
	Created corev1.Pod
	Phases  []corev1.PodPhase
	Deleted bool
}

// podHistory records the sandbox pods of a namespace from the apiserver's
// watch, so that a flow can assert on pods that came and went while its
// run executed without racing the run.
type podHistory struct {
	mu    sync.Mutex
	byUID map[types.UID]*podLife
	order []types.UID
}

func recordPods(t *testing.T, ns string) *podHistory {
	t.Helper()
	cs, err := kubernetes.NewForConfig(sharedKube.Get(t).cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	selector := labels.SelectorFromSet(labels.Set{kube.LabelComponent: kube.ComponentSandbox, kube.LabelManagedBy: kube.AppName})
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector.String() }))
	h := &podHistory{byUID: map[types.UID]*podLife{}}
	informer := factory.Core().V1().Pods().Informer()
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { h.seen(obj, false) },
		UpdateFunc: func(_, obj any) { h.seen(obj, false) },
		DeleteFunc: func(obj any) { h.seen(obj, true) },
	}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	factory.Start(stop)
	t.Cleanup(func() { close(stop); factory.Shutdown() })
	if !cache.WaitForCacheSync(stop, informer.HasSynced) {
		t.Fatal("pod informer did not sync")
	}
	return h
}

func (h *podHistory) seen(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	life := h.byUID[pod.UID]
	if life == nil {
		life = &podLife{Created: *pod.DeepCopy()}
		h.byUID[pod.UID] = life
		h.order = append(h.order, pod.UID)
	}
	if phase := pod.Status.Phase; phase != "" && (len(life.Phases) == 0 || life.Phases[len(life.Phases)-1] != phase) {
		life.Phases = append(life.Phases, phase)
	}
	life.Deleted = life.Deleted || deleted
}

// lives are the recorded pods in the order they appeared.
func (h *podHistory) lives() []podLife {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]podLife, 0, len(h.order))
	for _, uid := range h.order {
		l := *h.byUID[uid]
		l.Phases = slices.Clone(l.Phases)
		out = append(out, l)
	}
	return out
}

// expectSandboxPod checks a recorded pod against what the run and the
// replica that created it say: its name, labels, job (of the start its
// fence label names; the run's last start when attempt is the run's),
// ownerReference to the replica's pod, and that the kubelet ran it.
func expectSandboxPod(g Gomega, life podLife, run runs.Run, repo string, attempt int, owner runs.Owner) {
	pod := life.Created
	fence, err := strconv.ParseInt(pod.Labels[kube.LabelFence], 10, 64)
	g.Expect(err).NotTo(HaveOccurred(), "pod %s names its start", pod.Name)
	if attempt == run.Attempt {
		g.Expect(fence).To(Equal(run.Fence), "pod %s is of the run's last start", pod.Name)
	}
	g.Expect(pod.Name).To(Equal(kube.PodName(run.ID, fence, repo)))
	g.Expect(pod.Labels).To(And(
		HaveKeyWithValue(kube.LabelName, kube.AppName),
		HaveKeyWithValue(kube.LabelComponent, kube.ComponentSandbox),
		HaveKeyWithValue(kube.LabelManagedBy, kube.AppName),
		HaveKeyWithValue(kube.LabelRun, run.ID),
		HaveKeyWithValue(kube.LabelRepo, repo),
		HaveKeyWithValue(kube.LabelOwner, owner.Name),
	), "pod %s", pod.Name)
	g.Expect(pod.Annotations).To(HaveKeyWithValue(kube.AnnotationJob, kube.Spec{RunID: run.ID, Attempt: attempt, Fence: fence, Repo: repo}.JobID()))
	g.Expect(pod.OwnerReferences).To(ConsistOf(And(
		HaveField("APIVersion", "v1"), HaveField("Kind", "Pod"),
		HaveField("Name", owner.Name), HaveField("UID", types.UID(owner.UID)),
	)), "pod %s is owned by replica %s", pod.Name, owner.Name)
	g.Expect(life.Phases).To(ContainElement(corev1.PodRunning), "the kubelet ran pod %s", pod.Name)
}

// flowLog interleaves the replicas' and the sandboxes' logs, each line
// tagged with who wrote it, for the report of a failed flow.
type flowLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *flowLog) line(who, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, "%s %-10s %s\n", time.Now().Format("15:04:05.000"), who, strings.TrimRight(text, "\n"))
}

func (l *flowLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// writer is an io.Writer whose lines go to l tagged with who.
func (l *flowLog) writer(who string) *taggedWriter { return &taggedWriter{log: l, who: who} }

type taggedWriter struct {
	log *flowLog
	who string
}

func (w *taggedWriter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line != "" {
			w.log.line(w.who, line)
		}
	}
	return len(p), nil
}
