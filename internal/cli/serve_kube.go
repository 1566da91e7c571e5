package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/controllers"
	"github.com/agent-smith/agent-smith/internal/version"
	"github.com/agent-smith/agent-smith/runs/worker"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
	"github.com/agent-smith/agent-smith/sandbox/kube"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

// LeaderLease names the Lease the replicas elect their leader with.
const LeaderLease = "agent-smith-leader"

// kubeParts wires the Kubernetes backend: a controller-runtime manager
// whose cache holds only agent-smith's pods and config ConfigMap, leader
// election for the pollers and housekeeping, the sandbox reconciler fed by
// the run store's transitions, and the config reconciler.
func kubeParts(o serveOptions, conn *redisConn, current *trackers.Current, log logr.Logger) (*serveParts, error) {
	restConfig, err := kubeConfig(o.env)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client config: %w", err)
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Cache: controllers.CacheOptions(o.namespace, o.configMap),
		// One HTTP server (ours) serves probes and metrics on --addr.
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                true,
		LeaderElectionID:              LeaderLease,
		LeaderElectionNamespace:       o.namespace,
		LeaderElectionReleaseOnCancel: true,
		Logger:                        managerLog(log),
	})
	if err != nil {
		return nil, fmt.Errorf("controller manager: %w", err)
	}
	cfg, _ := current.Load()
	api, err := newSandboxAPI(o, log)
	if err != nil {
		return nil, err
	}
	board := kube.NewBoard()
	// The store tells the sandbox reconciler of every transition.
	changes := controllers.NewRunChanges()
	store, err := newRunStore(conn.Client, cfg.Config, cfg.Config.Queue.RedisPrefix, changes.Notify)
	if err != nil {
		return nil, err
	}
	sandboxes, err := controllers.NewSandboxReconciler(store, changes, current, board, mgr.GetEventRecorder("agent-smith-sandbox"),
		controllers.SandboxOptions{Namespace: o.namespace, Owner: o.owner, Tokens: api.gw.Tokens, APIURL: api.url, APICert: api.gw.CertPEM(),
			Image: version.OwnImage()})
	if err != nil {
		return nil, err
	}
	if err := sandboxes.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	sweeper := controllers.NewSandboxSweeper(mgr.GetClient(), store, o.namespace, func() time.Duration {
		snap, _ := current.Load()
		return snap.Config.Sandbox.KeepFailedPods()
	}, mgr.GetEventRecorder("agent-smith-housekeeper"), log)
	return &serveParts{
		store:       store,
		provisioner: kube.NewProvisioner(api.gw, board, kube.ProvisionerOptions{}),
		sweepers:    []worker.Sweeper{sweeper},
		start: func(ctx context.Context, rs []runnable, loaded []byte) error {
			reload := controllers.NewConfigReconciler(mgr.GetClient(), types.NamespacedName{Namespace: o.namespace, Name: o.configMap},
				current, buildSnapshot(o.configPath, o.env), mgr.GetEventRecorder("agent-smith-config"), loaded)
			if err := reload.SetupWithManager(mgr); err != nil {
				return err
			}
			for _, r := range append(rs, api) {
				if err := mgr.Add(r); err != nil {
					return err
				}
			}
			return mgr.Start(ctx)
		},
	}, nil
}

// sandboxAPI serves the replica's sandbox API (package gateway) over TLS
// on --sandbox-addr: the only way in from its sandboxes.
type sandboxAPI struct {
	gw   *gateway.Gateway
	addr string
	// url is how sandboxes reach it: SANDBOX_API_URL, else the pod's IP
	// (POD_IP) and the port.
	url string
}

func newSandboxAPI(o serveOptions, log logr.Logger) (*sandboxAPI, error) {
	_, port, err := net.SplitHostPort(o.sandboxAddr)
	if err != nil {
		return nil, fmt.Errorf("--sandbox-addr %q: %w", o.sandboxAddr, err)
	}
	url := o.env.Get("SANDBOX_API_URL")
	if url == "" {
		ip := o.env.Get("POD_IP")
		if net.ParseIP(ip) == nil {
			return nil, errors.New("sandboxes cannot be told where this replica is: set POD_IP (the manifests set it from the downward API) or SANDBOX_API_URL")
		}
		url = "https://" + net.JoinHostPort(ip, port)
	}
	gw, err := gateway.New(gateway.Options{TLS: true, Log: log.WithName("sandbox-api")})
	if err != nil {
		return nil, err
	}
	return &sandboxAPI{gw: gw, addr: o.sandboxAddr, url: url}, nil
}

// Start implements the manager's Runnable: it serves until ctx ends.
func (a *sandboxAPI) Start(ctx context.Context) error {
	l, err := net.Listen("tcp", a.addr)
	if err != nil {
		return fmt.Errorf("sandbox API: %w", err)
	}
	return a.gw.Serve(ctx, l)
}

// NeedLeaderElection is false: every replica serves its own sandboxes.
func (a *sandboxAPI) NeedLeaderElection() bool { return false }

// buildSnapshot turns a changed ConfigMap into a configuration with its
// trackers; its ${VAR}s come from env (the Secret as envFrom).
func buildSnapshot(path string, env Env) controllers.BuildFunc {
	return func(data []byte) (*trackers.Snapshot, error) {
		cfg, err := config.Parse(data, path, env, configKinds())
		if err != nil {
			return nil, err
		}
		trs, err := connect.Trackers(cfg)
		if err != nil {
			return nil, err
		}
		return &trackers.Snapshot{Config: cfg, Trackers: trs}, nil
	}
}

// kubeConfig is the client configuration: the files env's KUBECONFIG
// names, else controller-runtime's defaults (in-cluster, then
// ~/.kube/config).
func kubeConfig(env Env) (*rest.Config, error) {
	path := env.Get("KUBECONFIG")
	if path == "" {
		return ctrl.GetConfig()
	}
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(path)}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}
