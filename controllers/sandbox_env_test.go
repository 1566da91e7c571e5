package controllers

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/kubelet"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
	"github.com/agent-smith/agent-smith/sandbox/kube"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

// The sandbox tests run the whole path for real: the run store in Redis
// notifies the reconciler, which creates each sandbox's Secret and pod on
// the envtest apiserver; the kubelet harness runs them (the real agent
// binary, as the pods' users when the tests run as root), and the
// provisioner hands out sandboxes whose steps the agents and gates answer
// through the replica's sandbox API, over TLS.

const (
	sandboxAgentImage = "registry.test/agent-smith:test"
	sandboxToken      = "ghp_sandboxTestToken0123456789"
)

// sandboxConfig is the agentsmith.yml of the sandbox tests: api gets the
// generic image, web the python one, ui the node one named here.
const sandboxConfig = `sandbox:
  agent_registry: registry.test
  ready_timeout_seconds: 60
  toolchain_images:
    node: registry.test/toolchains/node:22
agents:
  claude:
    type: anthropic
    model: claude-sonnet-4
repos:
  api:
    type: github
    url: https://github.com/acme/api
    auth: github_token
  web:
    type: github
    url: https://github.com/acme/web
    auth: github_token
    language: python
  ui:
    type: github
    url: https://github.com/acme/ui
    auth: github_token
    language: node
trackers:
  issues:
    type: github
    project: acme/api
    auth: github_token
    webhook_secret: ${GITHUB_WEBHOOK_SECRET}
projects:
  todo:
    agent: claude
    tracker: issues
    repos: [api, web]
skills:
  version: v3.0.1
secrets:
  github_token: ${GITHUB_TOKEN}
  anthropic_api_key: ${ANTHROPIC_API_KEY}
`

func sandboxTestConfig(t testing.TB) *config.Config {
	t.Helper()
	env := map[string]string{"GITHUB_TOKEN": sandboxToken, "GITHUB_WEBHOOK_SECRET": "hook", "ANTHROPIC_API_KEY": "sk-ant-x"}
	cfg, err := config.Parse([]byte(sandboxConfig), "agentsmith.yml", func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// sandboxEnv is one orchestrator replica with the sandbox backend, in a
// namespace of its own, with a kubelet for its pods.
type sandboxEnv struct {
	t       testing.TB
	ns      string
	c       client.Client
	rdb     *redis.Client
	cfg     *config.Config
	store   *runs.Store
	board   *kube.Board
	rec     *SandboxReconciler
	changes *RunChanges
	prov    *kube.Provisioner
	kubelet *kubelet.Kubelet
	api     sandboxAPI
	agent   string
	// whilePending, when set, runs once a run has started and before it
	// is provisioned.
	whilePending func(run runs.Run)
	log          logr.Logger
	owner        runs.Owner
	ownerPod     *corev1.Pod
	mgr          ctrl.Manager
	stopMgr      func()
	logs         *syncBuffer
}

type sandboxEnvOptions struct {
	resync       time.Duration
	readyTimeout int // seconds; default the config's
	replica      string
	keepFailed   int // sandbox.keep_failed_pods_minutes
	// now is the reconciler's clock; default time.Now.
	now func() time.Time
}

func startSandboxEnv(t testing.TB, o sandboxEnvOptions) *sandboxEnv {
	t.Helper()
	agent := testenv.AgentBinary(t)
	testenv.SharedRedis(t).Flush(t)
	e := &sandboxEnv{t: t, c: newClient(t), rdb: testenv.SharedRedis(t).Client(t), cfg: sandboxTestConfig(t), board: kube.NewBoard(), logs: &syncBuffer{}}
	if o.readyTimeout > 0 {
		e.cfg.Sandbox.ReadyTimeoutSeconds = o.readyTimeout
	}
	e.cfg.Sandbox.KeepFailedPodsMinutes = o.keepFailed
	ctx := context.Background()
	e.ns = newNamespace(t, e.c)
	e.api = startSandboxAPI(t)
	if o.replica == "" {
		o.replica = "orchestrator-0"
	}
	e.ownerPod = testPod(e.ns, o.replica, map[string]string{"app": "agent-smith-orchestrator"})
	must(t, e.c.Create(ctx, e.ownerPod))
	e.owner = runs.Owner{Name: e.ownerPod.Name, UID: string(e.ownerPod.UID)}

	log := funcr.New(func(prefix, args string) { e.logs.println(prefix + " " + args) }, funcr.Options{Verbosity: 1})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("orchestrator log:\n%s", e.logs.String())
		}
	})
	mgr, err := ctrl.NewManager(testenv.SharedCluster(t).Config, ctrl.Options{
		Metrics: metricsserver.Options{BindAddress: "0"},
		// The package runs many managers in one process; controller
		// names are unique per process.
		Controller: ctrlconfig.Controller{SkipNameValidation: ptr.To(true)},
		Cache:      CacheOptions(e.ns, "agent-smith-config"),
		Logger:     log,
	})
	must(t, err)
	e.mgr = mgr
	e.changes = NewRunChanges()
	store, err := runs.NewStore(e.rdb, runs.Options{Prefix: e.cfg.Queue.RedisPrefix, BlockTimeout: 50 * time.Millisecond,
		Notify: e.changes.Notify})
	must(t, err)
	e.store = store
	e.rec, err = NewSandboxReconciler(store, e.changes, trackers.NewCurrent(&trackers.Snapshot{Config: e.cfg}), e.board, mgr.GetEventRecorder("agent-smith-sandbox"), SandboxOptions{
		Namespace: e.ns, Owner: e.owner, Tokens: e.api.Tokens, APIURL: e.api.url, APICert: e.api.CertPEM(),
		Image: "registry.test/agent-smith:test", ResyncInterval: o.resync, Now: o.now,
	})
	must(t, err)
	must(t, e.rec.SetupWithManager(mgr))
	e.stopMgr = startManager(t, mgr)

	e.agent, e.log = agent, log
	e.startKubelet()
	e.prov = kube.NewProvisioner(e.api.Gateway, e.board, kube.ProvisionerOptions{})
	return e
}

// startKubelet runs the namespace's pods: the agent image is the agent
// binary; containers run as their pods' users when the tests run as root.
func (e *sandboxEnv) startKubelet() {
	var err error
	e.kubelet, err = kubelet.Start(testenv.SharedCluster(e.t).Config, kubelet.Options{
		Namespace: e.ns, Entrypoints: map[string][]string{sandboxAgentImage: {e.agent}}, RunAsPodUsers: true, Log: e.log.WithName("kubelet"),
	})
	must(e.t, err)
	e.t.Cleanup(e.kubelet.Stop)
}

// sandboxAPI is the replica's sandbox API, served over TLS on loopback
// (the kubelet harness gives every pod 127.0.0.1 as its address).
type sandboxAPI struct {
	*gateway.Gateway
	url string
}

func startSandboxAPI(t testing.TB) sandboxAPI {
	t.Helper()
	gw, err := gateway.New(gateway.Options{TLS: true})
	must(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = gw.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	return sandboxAPI{gw, "https://" + l.Addr().String()}
}

// testBuilder makes pods as replica owner of namespace ns would, with a
// sandbox API of its own.
func testBuilder(t testing.TB, ns string, owner runs.Owner) *kube.Builder {
	t.Helper()
	b, err := kube.NewBuilder(kube.BuilderParams{Namespace: ns, OwnerName: owner.Name, OwnerUID: owner.UID,
		APIURL: "https://10.0.3.7:8443", APICert: []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), Image: "registry.test/agent-smith:test"})
	must(t, err)
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// startRun submits a run of ticket for repos and takes it as this
// replica: it enters provisioning.
func (e *sandboxEnv) startRun(ticket string, repos ...string) runs.Run {
	e.t.Helper()
	return e.takeRun(e.submit(ticket, repos...), e.owner)
}

func (e *sandboxEnv) submit(ticket string, repos ...string) string {
	e.t.Helper()
	res, err := e.store.Submit(context.Background(), runs.Submission{Project: "todo", Pipeline: "fix-bug", Tracker: "issues", Ticket: ticket, Repos: repos})
	must(e.t, err)
	return res.RunID
}

// takeRun dequeues the queued run id as owner.
func (e *sandboxEnv) takeRun(id string, owner runs.Owner) runs.Run {
	e.t.Helper()
	return e.takeFrom(e.store, id, owner)
}

// takeFrom dequeues the queued run id as owner through store.
func (e *sandboxEnv) takeFrom(store *runs.Store, id string, owner runs.Owner) runs.Run {
	e.t.Helper()
	lease, err := store.Dequeue(context.Background(), owner)
	must(e.t, err)
	e.t.Cleanup(lease.Close)
	if run := lease.Run(); run.ID != id {
		e.t.Fatalf("dequeued run %s, want %s", run.ID, id)
	}
	return lease.Run()
}

// builder makes pods as the replica owner would, with this env's API.
func (e *sandboxEnv) builder(owner runs.Owner) *kube.Builder {
	e.t.Helper()
	b, err := kube.NewBuilder(kube.BuilderParams{Namespace: e.ns, OwnerName: owner.Name, OwnerUID: owner.UID,
		APIURL: e.api.url, APICert: e.api.CertPEM(), Image: "registry.test/agent-smith:test"})
	must(e.t, err)
	return b
}

// otherReplica creates the pod of another orchestrator replica.
func (e *sandboxEnv) otherReplica(name string) runs.Owner {
	e.t.Helper()
	p := testPod(e.ns, name, map[string]string{"app": "agent-smith-orchestrator"})
	must(e.t, e.c.Create(context.Background(), p))
	return runs.Owner{Name: p.Name, UID: string(p.UID)}
}

// provision is what the pipeline does first: wait for the run's
// sandboxes. It returns their workspaces.
func (e *sandboxEnv) provision(run runs.Run) (map[string]sandbox.Sandbox, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req := sandbox.ProvisionRequest{RunID: run.ID, Attempt: run.Attempt, Fence: run.Fence}
	for _, r := range run.Repos {
		req.Repos = append(req.Repos, sandbox.RepoSpec{Name: r})
	}
	got, err := e.prov.Provision(ctx, req)
	out := map[string]sandbox.Sandbox{}
	for repo, p := range got {
		out[repo] = p.Work
	}
	return out, err
}

// pods are the sandbox pods of run, by name.
func (e *sandboxEnv) pods(g Gomega, runID string) map[string]corev1.Pod {
	list := &corev1.PodList{}
	g.Expect(e.c.List(context.Background(), list, client.InNamespace(e.ns), client.MatchingLabels{kube.LabelRun: runID})).To(Succeed())
	out := map[string]corev1.Pod{}
	for _, p := range list.Items {
		out[p.Name] = p
	}
	return out
}

func (e *sandboxEnv) podNames(runID string) func(Gomega) []string {
	return func(g Gomega) []string {
		var names []string
		for n := range e.pods(g, runID) {
			names = append(names, n)
		}
		return names
	}
}

func (e *sandboxEnv) run(g Gomega, id string) runs.Run {
	r, err := e.store.Get(context.Background(), id)
	g.Expect(err).NotTo(HaveOccurred())
	return r
}

// secretNames are the sandbox Secrets of run that exist.
func (e *sandboxEnv) secretNames(runID string) func(Gomega) []string {
	return func(g Gomega) []string {
		list := &corev1.SecretList{}
		g.Expect(e.c.List(context.Background(), list, client.InNamespace(e.ns), client.MatchingLabels{kube.LabelRun: runID})).To(Succeed())
		var names []string
		for _, s := range list.Items {
			names = append(names, s.Name)
		}
		return names
	}
}

// eventReasons are the reasons of the events about pod name, oldest first.
func (e *sandboxEnv) eventReasons(g Gomega, name string) []string {
	list := &corev1.EventList{}
	g.Expect(e.c.List(context.Background(), list, client.InNamespace(e.ns), client.MatchingFields{"involvedObject.name": name})).To(Succeed())
	var out []string
	for _, ev := range list.Items {
		out = append(out, ev.Reason)
	}
	return out
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) println(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintln(&s.b, time.Now().Format("15:04:05.000"), line)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
