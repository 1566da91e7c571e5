package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
)

// ConfigKey is the ConfigMap key holding agentsmith.yml.
const ConfigKey = "agentsmith.yml"

// BuildFunc turns agentsmith.yml into a Snapshot: parse, validate and
// build the trackers. A config error is a config.Errors.
type BuildFunc func(data []byte) (*trackers.Snapshot, error)

// ConfigReconciler reloads the configuration when the agent-smith-config
// ConfigMap changes, without a restart. A valid new config is swapped in
// atomically: runs already started keep theirs, new runs and the pollers
// take the new one. An invalid one is refused: an Event on the ConfigMap and
// a log line name every error, and the old config keeps serving.
type ConfigReconciler struct {
	reader   client.Reader
	key      types.NamespacedName
	current  *trackers.Current
	build    BuildFunc
	recorder recorder.EventRecorder
	// loaded is the digest of the config in effect, so a resync or an
	// unrelated ConfigMap update does not rebuild the trackers.
	loaded string
	// started is the config the process started with, against which a
	// reload finds the settings that wait for a restart.
	started *config.Config
}

// NewConfigReconciler reloads ConfigMap key into current with build.
// loaded is the agentsmith.yml the process started with, current's
// configuration at the time.
func NewConfigReconciler(reader client.Reader, key types.NamespacedName, current *trackers.Current, build BuildFunc, rec recorder.EventRecorder, loaded []byte) *ConfigReconciler {
	started, _ := current.Load()
	return &ConfigReconciler{reader: reader, key: key, current: current, build: build, recorder: rec,
		loaded: digest(loaded), started: started.Config}
}

// SetupWithManager watches the one ConfigMap.
func (r *ConfigReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("config").
		WithOptions(controller.Options{
			// Every replica reloads its configuration, not only the
			// leader (controllers default to leader-only).
			NeedLeaderElection: ptr.To(false),
		}).
		For(&corev1.ConfigMap{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return o.GetNamespace() == r.key.Namespace && o.GetName() == r.key.Name
		}))).
		Complete(r)
}

// Reconcile loads the ConfigMap's agentsmith.yml when it changed.
func (r *ConfigReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	cm := &corev1.ConfigMap{}
	if err := r.reader.Get(ctx, req.NamespacedName, cm); err != nil {
		if apierrors.IsNotFound(err) {
			log.Info("config ConfigMap is gone; the loaded config keeps serving")
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	data, ok := cm.Data[ConfigKey]
	if !ok {
		r.refuse(ctx, cm, fmt.Errorf("the ConfigMap has no %q key", ConfigKey))
		return ctrl.Result{}, nil
	}
	sum := digest([]byte(data))
	if sum == r.loaded {
		return ctrl.Result{}, nil
	}

	snap, err := r.build([]byte(data))
	if err != nil {
		r.refuse(ctx, cm, err)
		// A config error stays wrong until someone edits the ConfigMap,
		// which triggers the next reconcile: no requeue.
		return ctrl.Result{}, nil
	}
	r.current.Store(snap)
	r.loaded = sum
	log.Info("configuration reloaded", "projects", len(snap.Config.Projects), "trackers", len(snap.Config.Trackers), "digest", sum[:12])
	r.recorder.Eventf(cm, nil, corev1.EventTypeNormal, "ConfigReloaded", "Reload",
		"agentsmith.yml reloaded: %d projects, %d trackers", len(snap.Config.Projects), len(snap.Config.Trackers))
	if pending := r.started.RestartBound(snap.Config); len(pending) > 0 {
		log.Info("changed settings take effect when the replica restarts", "settings", pending)
		r.recorder.Eventf(cm, nil, corev1.EventTypeWarning, "RestartRequired", "Reload",
			"%s", truncate("these settings take effect when the orchestrator restarts (kubectl rollout restart): "+strings.Join(pending, ", "), 1000))
	}
	return ctrl.Result{}, nil
}

// refuse reports an invalid config on the ConfigMap and in the log.
func (r *ConfigReconciler) refuse(ctx context.Context, cm *corev1.ConfigMap, err error) {
	log := ctrl.LoggerFrom(ctx)
	lines := []string{err.Error()}
	var cerrs config.Errors
	if errors.As(err, &cerrs) {
		lines = lines[:0]
		for _, e := range cerrs {
			lines = append(lines, e.Error())
		}
	}
	for _, l := range lines {
		log.Info("refused new configuration, the old one keeps serving", "error", l)
	}
	r.recorder.Eventf(cm, nil, corev1.EventTypeWarning, "InvalidConfig", "Reload",
		"%s", truncate(fmt.Sprintf("refused, the old config keeps serving: %d error(s): %s", len(lines), strings.Join(lines, "; ")), 1000))
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "…"
}
