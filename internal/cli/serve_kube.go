package cli

import (
	"context"
	"fmt"
	"path/filepath"

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
	board := kube.NewBoard()
	// The store tells the sandbox reconciler of every transition.
	changes := controllers.NewRunChanges()
	store, err := newRunStore(conn.Client, cfg.Config, cfg.Config.Queue.RedisPrefix, changes.Notify)
	if err != nil {
		return nil, err
	}
	sandboxes, err := controllers.NewSandboxReconciler(store, changes, current, board, mgr.GetEventRecorder("agent-smith-sandbox"),
		controllers.SandboxOptions{Namespace: o.namespace, Owner: o.owner, RedisURL: conn.URL, Image: version.OwnImage()})
	if err != nil {
		return nil, err
	}
	if err := sandboxes.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	sweeper := controllers.NewSandboxSweeper(mgr.GetClient(), store, o.namespace, mgr.GetEventRecorder("agent-smith-housekeeper"), log)
	return &serveParts{
		store:       store,
		provisioner: kube.NewProvisioner(conn.Client, board, kube.ProvisionerOptions{Prefix: cfg.Config.Queue.RedisPrefix}),
		sweepers:    []worker.Sweeper{sweeper},
		start: func(ctx context.Context, rs []runnable, loaded []byte) error {
			reload := controllers.NewConfigReconciler(mgr.GetClient(), types.NamespacedName{Namespace: o.namespace, Name: o.configMap},
				current, buildSnapshot(o.configPath, o.env), mgr.GetEventRecorder("agent-smith-config"), loaded)
			if err := reload.SetupWithManager(mgr); err != nil {
				return err
			}
			for _, r := range rs {
				if err := mgr.Add(r); err != nil {
					return err
				}
			}
			return mgr.Start(ctx)
		},
	}, nil
}

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
