package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/cmdline"
	"github.com/agent-smith/agent-smith/internal/console"
	"github.com/agent-smith/agent-smith/internal/logging"
	"github.com/agent-smith/agent-smith/internal/nodump"
	"github.com/agent-smith/agent-smith/internal/server"
	"github.com/agent-smith/agent-smith/internal/version"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/runs/worker"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
	"github.com/agent-smith/agent-smith/trackers/intake"
)

// The help of `serve`.
const (
	serveSummary = `agent-smith serve runs the orchestrator: the webhook endpoint and probes on --addr, the
run API, the web page and metrics on --admin-addr; queue workers; and, on the elected leader,
the pollers and housekeeping. With kubernetes sandboxes, the sandbox API its sandbox pods poll
is served over TLS on --sandbox-addr. Expose --addr alone (an Ingress, a tunnel): the run API
shows ticket text.`
	serveNotes = `Environment:
  REDIS_URL              the shared Redis; unset: an embedded in-memory Redis whose state is
                         lost on exit (a trial, one replica)
  REDIS_USERNAME,        override the credentials of REDIS_URL (the shipped manifests set
  REDIS_PASSWORD         them from the Secret)
  KUBERNETES_NAMESPACE   where sandbox pods and the ConfigMap live (kubernetes sandboxes)
  POD_NAME, POD_UID      this replica's identity: its runs and sandbox pods are owned by it
                         (default the host name and process id)
  POD_IP                 where this replica's sandboxes reach its sandbox API (or set
                         SANDBOX_API_URL)
  KUBECONFIG             the cluster to use outside one (default in-cluster, then ~/.kube/config)
  AGENTSMITH_API_TOKENS  who may use the run API and the web page: NAME:ROLE:TOKEN entries
                         separated by commas, ROLE read or admin (cancel, retry), TOKEN at
                         least 16 characters; unset: the API and the page refuse everyone
`
)

// serveOptions are the parsed flags and environment of `serve`.
type serveOptions struct {
	configPath  string
	addr        string
	sandboxAddr string
	// adminAddr serves the run API, the web page and metrics; "" serves
	// them nowhere.
	adminAddr string
	backend   string
	logFormat string
	verbosity int
	namespace string
	configMap string
	owner     runs.Owner
	tokens    *console.Tokens
	env       Env
}

func parseServe(args []string, env Env, stdout, stderr io.Writer) (serveOptions, error) {
	c := cmdline.New("serve", "[flags]", serveSummary, env, stdout, stderr)
	c.Notes = serveNotes
	o := serveOptions{env: env}
	c.ConfigFlag(&o.configPath)
	c.FS.StringVar(&o.addr, "addr", ":8080", "serve the webhooks and probes on `ADDRESS`")
	c.FS.StringVar(&o.adminAddr, "admin-addr", "", "serve the run API, the web page and metrics on `ADDRESS`, or off (default :8081 with kubernetes sandboxes, 127.0.0.1:8081 with local ones)")
	c.FS.StringVar(&o.sandboxAddr, "sandbox-addr", ":8443", "serve the sandbox API (TLS, sandboxes only; kubernetes sandboxes) on `ADDRESS`")
	var backend string
	c.FS.StringVar(&backend, "sandbox", "", "sandbox backend `KIND`: local or kubernetes; unset: kubernetes inside a cluster, else local")
	c.EnvDefault("sandbox", "SANDBOX_TYPE")
	c.FS.StringVar(&o.logFormat, "log-format", "json", "log `FORMAT`: json or console")
	c.FS.IntVar(&o.verbosity, "v", 0, "log verbosity: 0 info, 1 debug, 2 and more trace")
	c.FS.StringVar(&o.configMap, "configmap", "agent-smith-config", "reload agentsmith.yml from ConfigMap `NAME` when it changes (kubernetes sandboxes)")
	if err := c.Parse(args); err != nil {
		return o, err
	}
	usageErr := c.UsageError
	if c.FS.NArg() > 0 {
		return o, usageErr("unexpected argument %q", c.FS.Arg(0))
	}
	if o.configPath == "" {
		return o, usageErr("no config file: pass -c FILE or set AGENTSMITH_CONFIG")
	}
	if err := (logging.Options{Format: o.logFormat}).Validate(); err != nil {
		return o, usageErr("--%v", err)
	}
	var err error
	if o.backend, err = sandboxBackend(backend, env); err != nil {
		return o, usageErr("%v", err)
	}
	if o.tokens, err = console.ParseTokens(env.Get(console.TokensEnv)); err != nil {
		return o, usageErr("%v", err)
	}
	o.adminAddr = adminAddress(o.adminAddr, o.backend)
	o.owner = replicaIdentity(env)
	o.namespace = env.Get("KUBERNETES_NAMESPACE")
	if o.backend == sandboxKubernetes && o.namespace == "" {
		return o, usageErr("SANDBOX_TYPE=kubernetes needs KUBERNETES_NAMESPACE (the manifests set it from the downward API)")
	}
	return o, nil
}

// adminAddress is where the admin listener binds: in a cluster every
// interface of the pod (the Service's admin port, which no Ingress
// routes to), on a laptop the loopback alone, so that a tunnel to the
// webhook port exposes nothing else.
func adminAddress(flagValue, backend string) string {
	switch {
	case flagValue == "off":
		return ""
	case flagValue != "":
		return flagValue
	case backend == sandboxKubernetes:
		return ":8081"
	}
	return "127.0.0.1:8081"
}

// replicaIdentity is this replica's name and uid: the pod's, from the
// downward API, else the host's name and the process id.
func replicaIdentity(env Env) runs.Owner {
	if name := env.Get("POD_NAME"); name != "" {
		return runs.Owner{Name: name, UID: env.Get("POD_UID")}
	}
	host, _ := os.Hostname()
	return runs.Owner{Name: fmt.Sprintf("%s-%d", host, os.Getpid())}
}

// runServe implements `agent-smith serve`.
func runServe(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	o, err := parseServe(args, env, stdout, stderr)
	if err != nil {
		return err
	}
	log := logging.New(stderr, logging.Options{Format: o.logFormat, Verbosity: o.verbosity})
	setControllerRuntimeLogger(log)
	// The process holds every credential; local sandboxes run under its
	// uid, and must not read them out of /proc.
	if err := nodump.Apply(); err != nil {
		return cmdline.ExitWith(stderr, 3, "serve: %v", err)
	}

	raw, err := os.ReadFile(o.configPath)
	if err != nil {
		return cmdline.ExitWith(stderr, 2, "serve: read config: %v", err)
	}
	cfg, err := config.Parse(raw, o.configPath, env, configKinds())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return cmdline.ExitWith(stderr, 2, "serve: %s is invalid; nothing started", o.configPath)
	}
	for _, w := range cfg.Warnings {
		log.Info("config warning", "problem", w.Error())
	}
	trs, err := connect.Trackers(cfg)
	if err != nil {
		return cmdline.ExitWith(stderr, 2, "serve: %v", err)
	}

	conn, err := openRedis(env)
	if err != nil {
		return err
	}
	defer conn.Close()
	switch {
	case conn.Embedded:
		log.Info("WARNING: REDIS_URL is not set; using an embedded in-memory Redis. Queued and running runs are LOST when this process exits, and no other replica can share the work. Set REDIS_URL for anything but a trial.", "url", conn.URL)
	case !conn.Authenticated:
		log.Info("WARNING: Redis is used without a password: whoever reaches it can read and rewrite every run. Set REDIS_PASSWORD (and REDIS_USERNAME), as the shipped manifests do.", "url", conn.URL)
	}
	r, err := newReplica(o, conn, &trackers.Snapshot{Config: cfg, Trackers: trs}, log, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	return r.run(ctx, raw)
}

// replica is one orchestrator replica: its HTTP server, workers, leader
// duties and whatever its sandbox backend adds.
type replica struct {
	o         serveOptions
	log       logr.Logger
	current   *trackers.Current
	health    *server.Health
	webhooks  *intake.Handler
	workers   *worker.Workers
	runnables []runnable
	parts     *serveParts
}

// metricsRegistry is where a replica registers its metrics and /metrics
// gathers them from.
type metricsRegistry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// newReplica assembles a replica from its first configuration; its own
// metrics go to reg.
func newReplica(o serveOptions, conn *redisConn, first *trackers.Snapshot, log logr.Logger, reg metricsRegistry) (*replica, error) {
	cfg := first.Config
	current := trackers.NewCurrent(first)
	parts, err := newServeParts(o, conn, current, log)
	if err != nil {
		return nil, err
	}
	loaded := func() *config.Config { s, _ := current.Load(); return s.Config }
	pipe, err := newPipeline(pipelineParts{Config: loaded, ConfigPath: o.configPath, Store: parts.store,
		Provisioner: parts.provisioner, RunsDir: runsDirFor(cfg.Orchestrator.RunsDir)})
	if err != nil {
		return nil, err
	}
	// agent-smith's metrics are the replica's own; /metrics adds
	// controller-runtime's (its global registry, with Go's and the
	// process's).
	reg.MustRegister(worker.NewRunsCollector(parts.store, log), redisEpochs)
	webhooks, err := intake.New(cfg, first.Trackers, intake.StoreRuns(parts.store), log, reg)
	if err != nil {
		return nil, err
	}
	r := &replica{o: o, log: log, current: current, health: &server.Health{}, webhooks: webhooks, parts: parts,
		workers: worker.NewWorkers(parts.store, pipe, o.owner, cfg.Queue.MaxParallelJobs, log, reg)}
	r.health.AddReadinessCheck("redis", func(ctx context.Context) error { return conn.Client.Ping(ctx).Err() })
	routes := server.Routes{Webhooks: webhooks, Console: console.New(parts.store, o.tokens, log).Handler(), Health: r.health,
		Gatherer: prometheus.Gatherers{ctrlmetrics.Registry, reg}}
	parkedExpiry := func() time.Duration { s, _ := current.Load(); return s.Config.Queue.AwaitingInputExpiry() }
	r.runnables = []runnable{
		server.NewHTTPServer(o.addr, routes.Public(), log), r.workers,
		// Every replica tells tickets how their runs ended, whoever ended them.
		worker.NewFinalizer(parts.store, pipe, o.owner.Name, worker.FinalizerOptions{}, log, reg),
		intake.NewPoller(current, intake.StoreRuns(parts.store), log, reg),
		intake.NewRecovery(current, intake.StoreRuns(parts.store), parts.store, log),
		worker.NewHousekeeper(parts.store, o.owner.Name, housekeepingInterval, parkedExpiry, log, parts.sweepers...),
		worker.NewLeaderGauge(reg),
	}
	if o.adminAddr != "" {
		r.runnables = append(r.runnables, server.NewHTTPServer(o.adminAddr, routes.Admin(), log.WithName("admin")))
	}
	return r, nil
}

// run serves until ctx ends; then the replica drains: /readyz fails,
// workers take nothing new and finish or hand back their runs, and only
// then the rest (HTTP server last, leader lease released) stops. loaded is
// the agentsmith.yml it started with.
func (r *replica) run(ctx context.Context, loaded []byte) error {
	watch, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go r.current.Watch(watch, func(s *trackers.Snapshot) {
		r.webhooks.Reload(s.Config, s.Trackers)
		connect.Warm(watch, s.Trackers, r.log)
	})
	snap, _ := r.current.Load()
	cfg := snap.Config
	if r.o.tokens.Len() == 0 {
		r.log.Info("the run API and the web page refuse every request: set " + console.TokensEnv + " to use them")
	}
	r.log.Info("starting", "version", version.Version, "image", version.OwnImage(), "replica", r.o.owner.Name, "sandbox", r.o.backend, "addr", r.o.addr, "adminAddr", r.o.adminAddr,
		"projects", len(cfg.Projects), "trackers", len(cfg.Trackers), "maxParallelJobs", cfg.Queue.MaxParallelJobs,
		"webhooks", slices.Sorted(maps.Keys(cfg.WebhookRoutes())))

	run, stopRunnables := context.WithCancel(context.Background())
	defer stopRunnables()
	done := make(chan error, 1)
	go func() { done <- r.parts.start(run, r.runnables, loaded) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	snap, _ = r.current.Load()
	grace := snap.Config.Queue.ShutdownGrace()
	r.log.Info("draining", "grace", grace)
	r.health.Drain()
	r.workers.Drain(grace)
	stopRunnables()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	r.log.Info("stopped")
	return nil
}

// housekeepingInterval spaces the leader's recovery and sweeping rounds.
const housekeepingInterval = time.Minute

// runnable is what both the manager and the local group run; it says
// whether only the elected leader runs it.
type runnable interface {
	Start(ctx context.Context) error
	NeedLeaderElection() bool
}

// runLocal runs every runnable in this process, which is its own leader:
// without a cluster there is no Lease to elect one, and no second replica.
func runLocal(ctx context.Context, rs []runnable) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, r := range rs {
		g.Go(func() error { return r.Start(ctx) })
	}
	return g.Wait()
}

// serveParts are what differs between the sandbox backends.
type serveParts struct {
	store       *runs.Store
	provisioner sandbox.Provisioner
	sweepers    []worker.Sweeper
	// start runs the runnables until ctx ends; loaded is the agentsmith.yml
	// the process started with.
	start func(ctx context.Context, rs []runnable, loaded []byte) error
}

func newServeParts(o serveOptions, conn *redisConn, current *trackers.Current, log logr.Logger) (*serveParts, error) {
	if o.backend == sandboxKubernetes {
		return kubeParts(o, conn, current, log)
	}
	snap, _ := current.Load()
	cfg := snap.Config
	store, err := newRunStore(conn.Client, cfg, cfg.Queue.RedisPrefix, nil)
	if err != nil {
		return nil, err
	}
	prov, err := localSandboxes(cfg, log)
	if err != nil {
		return nil, err
	}
	return &serveParts{store: store, provisioner: prov,
		start: func(ctx context.Context, rs []runnable, _ []byte) error {
			defer func() { _ = prov.Close() }()
			return runLocal(ctx, rs)
		}}, nil
}
