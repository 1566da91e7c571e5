package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

// RunChanges carries the run store's transitions to the sandbox
// reconciler. It is made before both (the store's Notify is its Notify, the
// reconciler drains it), so neither needs the other to exist first.
type RunChanges struct {
	changed chan event.TypedGenericEvent[string]
	resync  chan struct{}
}

// NewRunChanges returns an empty RunChanges.
func NewRunChanges() *RunChanges {
	return &RunChanges{
		// Room for a burst of transitions before the controller starts
		// draining it; beyond that Notify falls back to a resync.
		changed: make(chan event.TypedGenericEvent[string], 4096),
		resync:  make(chan struct{}, 1),
	}
}

// Notify tells the reconciler that run changed; the run store calls it
// after every transition. It never blocks: should the channel be full (the
// controller has not started draining it yet), the resync that follows the
// start covers the run.
func (c *RunChanges) Notify(run runs.Run) {
	if run.Owner.Name == "" {
		return // never started: no replica made pods for it
	}
	select {
	case c.changed <- event.TypedGenericEvent[string]{Object: run.ID}:
	default:
		c.requestResync()
	}
}

func (c *RunChanges) requestResync() {
	select {
	case c.resync <- struct{}{}:
	default:
	}
}

// watch adds the reconciler's three sources to b: run changes, sandbox pod
// events, and the periodic resync.
func (r *SandboxReconciler) watch(b *builder.Builder) *builder.Builder {
	runChanges := handler.TypedFuncs[string, reconcile.Request]{
		GenericFunc: func(_ context.Context, e event.TypedGenericEvent[string], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q.Add(r.request(e.Object))
		},
	}
	isSandbox := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetLabels()[kube.LabelComponent] == kube.ComponentSandbox && o.GetLabels()[kube.LabelRun] != ""
	})
	return b.Named("sandbox").
		WithOptions(controller.Options{
			MaxConcurrentReconciles: r.opts.MaxConcurrentReconciles,
			// Every replica provisions the runs it owns, not only the
			// leader (controllers default to leader-only).
			NeedLeaderElection: ptr.To(false),
		}).
		WatchesRawSource(source.Channel(r.changes.changed, runChanges)).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			return []reconcile.Request{r.request(o.GetLabels()[kube.LabelRun])}
		}), builder.WithPredicates(isSandbox)).
		WatchesRawSource(source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			go r.resyncLoop(ctx, q)
			return nil
		}))
}

func (r *SandboxReconciler) request(runID string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: r.opts.Namespace, Name: runID}}
}

// resyncLoop queues every run this replica should look at, once the cache
// has synced and then every ResyncInterval (or sooner when RunChanges.Notify had
// to drop a notification).
func (r *SandboxReconciler) resyncLoop(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	log := r.log.WithName("resync")
	if !r.cache.WaitForCacheSync(ctx) {
		return
	}
	tick := time.NewTicker(r.opts.ResyncInterval)
	defer tick.Stop()
	for {
		ids, err := r.runsToResync(ctx)
		if err != nil {
			log.Error(err, "resync: listing runs failed; trying again at the next one")
		}
		for _, id := range ids {
			q.Add(r.request(id))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-r.changes.resync:
		}
	}
}

// runsToResync are the active runs this replica owns and the runs of its
// sandbox pods (which may have ended or vanished unnoticed).
func (r *SandboxReconciler) runsToResync(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	pods := &corev1.PodList{}
	err := r.client.List(ctx, pods, client.InNamespace(r.opts.Namespace), client.MatchingLabels{
		kube.LabelComponent: kube.ComponentSandbox, kube.LabelOwner: kube.LabelValue(r.opts.Owner.Name),
	})
	if err != nil {
		return nil, fmt.Errorf("list this replica's sandbox pods: %w", err)
	}
	for _, p := range pods.Items {
		add(p.Labels[kube.LabelRun])
	}
	for _, st := range runs.ActiveStates() {
		list, err := r.store.List(ctx, st, 0)
		if err != nil {
			return ids, err
		}
		for _, run := range list {
			if run.Owner == r.opts.Owner {
				add(run.ID)
			}
		}
	}
	return ids, nil
}
