package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sync/errgroup"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlzap "sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/controllers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/trackers/connect"
	"github.com/agent-smith/agent-smith/trackers/intake"
)

const serveUsage = `Usage:
  agent-smith serve [--config FILE] [--addr :8080] [--sandbox local|kubernetes]
                    [--log-format json|console] [-v N]

Runs the orchestrator: the webhook endpoint, probes, metrics and run API on
--addr; queue workers; and, on the elected leader, the pollers and
housekeeping. FILE defaults to $AGENTSMITH_CONFIG.

Environment: REDIS_URL (unset: an embedded in-memory Redis, state lost on
exit), SANDBOX_TYPE, KUBERNETES_NAMESPACE, POD_NAME and POD_UID (the
replica's identity; sandbox pods are owned by it).
`

// serveOptions are the parsed flags and environment of `serve`.
type serveOptions struct {
	configPath string
	addr       string
	backend    string
	logFormat  string
	verbosity  int
	namespace  string
	configMap  string
	owner      runs.Owner
}

func parseServe(args []string, getenv func(string) string, stderr io.Writer) (serveOptions, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage) }
	o := serveOptions{}
	fs.StringVar(&o.configPath, "config", getenv("AGENTSMITH_CONFIG"), "path of agentsmith.yml")
	fs.StringVar(&o.addr, "addr", ":8080", "address of the HTTP server (webhooks, probes, metrics, run API)")
	backend := fs.String("sandbox", "", "sandbox backend: local or kubernetes (default $SANDBOX_TYPE, kubernetes in a cluster)")
	fs.StringVar(&o.logFormat, "log-format", "json", "log format: json or console")
	fs.IntVar(&o.verbosity, "v", 0, "log verbosity (0 info, 1 debug, 2 and more: trace)")
	fs.StringVar(&o.configMap, "configmap", "agent-smith-config", "ConfigMap holding agentsmith.yml, reloaded on change (kubernetes backend)")
	if err := fs.Parse(args); err != nil {
		return o, exitError(2)
	}
	usageErr := func(format string, a ...any) error { return exitWith(stderr, 2, "serve: "+format, a...) }
	if fs.NArg() > 0 {
		return o, usageErr("unexpected argument %q", fs.Arg(0))
	}
	if o.configPath == "" {
		return o, usageErr("no config file: pass --config FILE or set AGENTSMITH_CONFIG")
	}
	if o.logFormat != "json" && o.logFormat != "console" {
		return o, usageErr("--log-format %q: want json or console", o.logFormat)
	}
	var err error
	if o.backend, err = sandboxBackend(*backend, getenv); err != nil {
		return o, usageErr("%v", err)
	}
	o.owner = replicaIdentity(getenv)
	o.namespace = getenv("KUBERNETES_NAMESPACE")
	if o.backend == sandboxKubernetes && o.namespace == "" {
		return o, usageErr("SANDBOX_TYPE=kubernetes needs KUBERNETES_NAMESPACE (the manifests set it from the downward API)")
	}
	return o, nil
}

// replicaIdentity is this replica's name and uid: the pod's, from the
// downward API, else the host's name and the process id.
func replicaIdentity(getenv func(string) string) runs.Owner {
	if name := getenv("POD_NAME"); name != "" {
		return runs.Owner{Name: name, UID: getenv("POD_UID")}
	}
	host, _ := os.Hostname()
	return runs.Owner{Name: fmt.Sprintf("%s-%d", host, os.Getpid())}
}

func newLogger(o serveOptions, w io.Writer) logr.Logger {
	return ctrlzap.New(
		ctrlzap.WriteTo(w),
		ctrlzap.UseDevMode(o.logFormat == "console"),
		ctrlzap.Level(zapLevel(o.verbosity)),
	)
}

// runServe implements `agent-smith serve`.
func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	o, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(o, stderr)
	ctrl.SetLogger(log)

	raw, err := os.ReadFile(o.configPath)
	if err != nil {
		return exitWith(stderr, 2, "serve: read config: %v", err)
	}
	cfg, err := config.Parse(raw, o.configPath, os.LookupEnv, configKinds())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitWith(stderr, 2, "serve: %s is invalid; nothing started", o.configPath)
	}
	trs, err := connect.Trackers(cfg)
	if err != nil {
		return exitWith(stderr, 2, "serve: %v", err)
	}

	conn, err := openRedis(getenv)
	if err != nil {
		return err
	}
	defer conn.Close()
	if conn.Embedded {
		log.Info("WARNING: REDIS_URL is not set; using an embedded in-memory Redis. Queued and running runs are LOST when this process exits, and no other replica can share the work. Set REDIS_URL for anything but a trial.", "url", conn.URL)
	}

	current := controllers.NewCurrent(&controllers.Snapshot{Config: cfg, Trackers: trs})
	loaded := func() *config.Config { s, _ := current.Load(); return s.Config }
	reg := ctrlmetrics.Registry

	parts, err := newServeParts(o, conn, current, log)
	if err != nil {
		return err
	}
	store := parts.store
	pipe, err := newPipeline(pipelineParts{Config: loaded, ConfigPath: o.configPath, Store: store,
		Provisioner: parts.provisioner, RunsDir: runsDirFor(cfg.Orchestrator.RunsDir)})
	if err != nil {
		return err
	}

	webhooks, err := intake.New(cfg, trs, intake.StoreRuns(store), log, reg)
	if err != nil {
		return err
	}
	health := &controllers.Health{}
	health.AddReadinessCheck("redis", func(ctx context.Context) error { return conn.Client.Ping(ctx).Err() })
	server := controllers.NewHTTPServer(o.addr, controllers.Routes{
		Webhooks: webhooks, Runs: controllers.RunAPI(store), Health: health, Gatherer: reg,
	}.Handler(), log)
	workers := controllers.NewWorkers(store, pipe, o.owner, cfg.Queue.MaxParallelJobs, log, reg)
	// Replicas that share a process (the end-to-end tests) share the
	// registry: the first one's gauge stands for all.
	var already prometheus.AlreadyRegisteredError
	if err := reg.Register(controllers.NewRunsCollector(store, log)); err != nil && !errors.As(err, &already) {
		return fmt.Errorf("register the runs gauge: %w", err)
	}
	runnables := []runnable{
		server, workers,
		controllers.NewPoller(current, intake.StoreRuns(store), log, reg),
		controllers.NewHousekeeper(store, o.owner.Name, housekeepingInterval, log, parts.sweepers...),
	}

	watch, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	connect.Warm(watch, trs, log)
	go current.Watch(watch, func(s *controllers.Snapshot) {
		webhooks.Reload(s.Config, s.Trackers)
		connect.Warm(watch, s.Trackers, log)
	})

	log.Info("starting", "version", version, "replica", o.owner.Name, "sandbox", o.backend, "addr", o.addr,
		"projects", len(cfg.Projects), "trackers", len(cfg.Trackers), "maxParallelJobs", cfg.Queue.MaxParallelJobs,
		"webhooks", slices.Sorted(maps.Keys(cfg.WebhookRoutes())))

	// The replica runs until told to stop; then it drains: /readyz fails,
	// workers take nothing new and finish or hand back their runs, and
	// only then the rest (HTTP server last, leader lease released) stops.
	run, stopRunnables := context.WithCancel(context.Background())
	defer stopRunnables()
	done := make(chan error, 1)
	go func() { done <- parts.start(run, runnables, raw) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	grace := loaded().Queue.ShutdownGrace()
	log.Info("draining", "grace", grace)
	health.Drain()
	workers.Drain(grace)
	stopRunnables()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
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

// zapLevel maps logr verbosity to zap's levels (V(1) is zap's debug).
func zapLevel(v int) zapcore.Level { return zapcore.Level(-v) }

// serveParts are what differs between the sandbox backends.
type serveParts struct {
	store       *runs.Store
	provisioner sandbox.Provisioner
	sweepers    []controllers.Sweeper
	// start runs the runnables until ctx ends; loaded is the agentsmith.yml
	// the process started with.
	start func(ctx context.Context, rs []runnable, loaded []byte) error
}

func newServeParts(o serveOptions, conn *redisConn, current *controllers.Current, log logr.Logger) (*serveParts, error) {
	if o.backend == sandboxKubernetes {
		return kubeParts(o, conn, current, log)
	}
	snap, _ := current.Load()
	cfg := snap.Config
	store, err := newRunStore(conn.Client, cfg, cfg.Queue.RedisPrefix, nil)
	if err != nil {
		return nil, err
	}
	prov, err := localSandboxes(conn, cfg, cfg.Queue.RedisPrefix)
	if err != nil {
		return nil, err
	}
	return &serveParts{store: store, provisioner: prov,
		start: func(ctx context.Context, rs []runnable, _ []byte) error { return runLocal(ctx, rs) }}, nil
}
