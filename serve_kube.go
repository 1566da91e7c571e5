package main

import (
	"context"
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/controllers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/kube"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

// leaderLease names the Lease the replicas elect their leader with.
const leaderLease = "agent-smith-leader"

// kubeParts wires the Kubernetes backend: a controller-runtime manager
// whose cache holds only agent-smith's pods and config ConfigMap, leader
// election for the pollers and housekeeping, the sandbox reconciler fed by
// the run store's transitions, and the config reconciler.
func kubeParts(o serveOptions, conn *redisConn, current *controllers.Current, log logr.Logger) (*serveParts, error) {
	restConfig, err := ctrl.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes client config: %w", err)
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Cache: controllers.CacheOptions(o.namespace, o.configMap),
		// One HTTP server (ours) serves probes and metrics on --addr.
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                true,
		LeaderElectionID:              leaderLease,
		LeaderElectionNamespace:       o.namespace,
		LeaderElectionReleaseOnCancel: true,
		Logger:                        managerLog(log),
	})
	if err != nil {
		return nil, fmt.Errorf("controller manager: %w", err)
	}
	cfg, _ := current.Load()
	board := kube.NewBoard()
	// The store tells the reconciler of every transition; the reconciler
	// needs the store. Nothing transitions before both exist.
	var sandboxes *controllers.SandboxReconciler
	store, err := newRunStore(conn.Client, cfg.Config, cfg.Config.Queue.RedisPrefix, func(r runs.Run) { sandboxes.RunChanged(r) })
	if err != nil {
		return nil, err
	}
	sandboxes, err = controllers.NewSandboxReconciler(store, current, board, mgr.GetEventRecorder("agent-smith-sandbox"),
		controllers.SandboxOptions{Namespace: o.namespace, Owner: o.owner, RedisURL: conn.URL, Version: version})
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
		sweepers:    []controllers.Sweeper{sweeper},
		start: func(ctx context.Context, rs []runnable, loaded []byte) error {
			reload := controllers.NewConfigReconciler(mgr.GetClient(), types.NamespacedName{Namespace: o.namespace, Name: o.configMap},
				current, buildSnapshot(o.configPath), mgr.GetEventRecorder("agent-smith-config"), loaded)
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
// trackers; the environment is this process's (the Secret as envFrom).
func buildSnapshot(path string) controllers.BuildFunc {
	return func(data []byte) (*controllers.Snapshot, error) {
		cfg, err := config.Parse(data, path, os.LookupEnv, configKinds())
		if err != nil {
			return nil, err
		}
		trs, err := connect.Trackers(cfg)
		if err != nil {
			return nil, err
		}
		return &controllers.Snapshot{Config: cfg, Trackers: trs}, nil
	}
}
