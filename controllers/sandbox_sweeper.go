package controllers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

// RunIndex is the part of the run store the sandbox sweeper reads.
type RunIndex interface {
	Known(ctx context.Context) (runs.Known, error)
}

// SandboxSweeper is the leader's housekeeping for sandbox pods: it deletes
// the pods of runs that no longer exist or have ended, whichever replica
// made them. Each replica's reconciler does this for its own pods as runs
// change; the sweeper catches what a replica missed (a notification lost
// before a crash, a run that expired) while its pod still runs, which the
// garbage collector does not cover. It honours kept pods (decideKeep): a
// failed run's pod it finds unmarked is marked, as its replica would, and
// a kept pod goes once its time is up.
type SandboxSweeper struct {
	client    client.Client
	store     RunIndex
	namespace string
	recorder  events.EventRecorder
	log       logr.Logger
	// keepFailed is sandbox.keep_failed_pods_minutes, read at each sweep.
	keepFailed func() time.Duration
	now        func() time.Time
}

// NewSandboxSweeper returns a sweeper of the sandbox pods in namespace; c
// may be the manager's cached client. keepFailed says how long a failed
// run's pods are kept (the configuration's current value).
func NewSandboxSweeper(c client.Client, store RunIndex, namespace string, keepFailed func() time.Duration, recorder events.EventRecorder, log logr.Logger) *SandboxSweeper {
	return &SandboxSweeper{client: c, store: store, namespace: namespace, recorder: recorder, log: log.WithName("sandbox-sweeper"),
		keepFailed: keepFailed, now: time.Now}
}

// Sweep implements Sweeper.
func (s *SandboxSweeper) Sweep(ctx context.Context) error {
	pods := &corev1.PodList{}
	if err := s.client.List(ctx, pods, client.InNamespace(s.namespace), client.MatchingLabels{kube.LabelComponent: kube.ComponentSandbox}); err != nil {
		return fmt.Errorf("sweep sandbox pods: %w", err)
	}
	if len(pods.Items) == 0 {
		return nil
	}
	// Pods are listed before runs are read: a run is never younger than
	// its pods, so no live run can be missing from what is read next.
	known, err := s.store.Known(ctx)
	if err != nil {
		return fmt.Errorf("sweep sandbox pods: %w", err)
	}
	removals, keeps := orphanSandboxes(pods.Items, known, s.keepFailed(), s.now())
	var errs []error
	for _, k := range keeps {
		marked, err := markKept(ctx, s.client, s.recorder, k.pod, k.until)
		errs = append(errs, err)
		if marked {
			s.log.Info("kept sandbox pod of the failed run for inspection", "pod", k.pod.Name, "run", k.pod.Labels[kube.LabelRun],
				"until", k.until.UTC().Format(time.RFC3339))
		}
	}
	for _, rm := range removals {
		err := s.client.Delete(ctx, rm.pod, client.Preconditions{UID: &rm.pod.UID})
		switch {
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		case err != nil:
			errs = append(errs, fmt.Errorf("sweep pod %s: %w", rm.pod.Name, err))
		default:
			s.log.Info("deleted orphaned sandbox pod", "pod", rm.pod.Name, "run", rm.pod.Labels[kube.LabelRun], "reason", rm.reason)
			s.recorder.Eventf(rm.pod, nil, corev1.EventTypeNormal, ReasonSandboxDeleted, "Delete", "%s (housekeeping)", rm.reason)
		}
	}
	return errors.Join(errs...)
}

// orphanSandboxes picks the pods whose run is unknown or over, and the
// pods of an active run that belong to another start of it (their fence is
// not the run's): a start Redis lost, or one reclaimed from a replica cut
// off from Redis. Of those, it keeps what decideKeep keeps at now: a
// failed run's pods are marked (keeps), a kept pod goes only once its time
// is up.
func orphanSandboxes(pods []corev1.Pod, known runs.Known, keep time.Duration, now time.Time) (removals []podRemoval, keeps []podKeep) {
	for i := range pods {
		pod := &pods[i]
		id := pod.Labels[kube.LabelRun]
		if id == "" || pod.DeletionTimestamp != nil {
			continue
		}
		var why string
		switch st, ok := known.Runs[id]; {
		case !ok:
			why = fmt.Sprintf("run %s does not exist", id)
		case st.Terminal():
			why = fmt.Sprintf("run %s is %s", id, st)
		case st.Active() && pod.Labels[kube.LabelFence] != strconv.FormatInt(known.Fences[id], 10):
			why = fmt.Sprintf("of fence %q (an earlier start); run %s is at fence %d", pod.Labels[kube.LabelFence], id, known.Fences[id])
		default:
			continue
		}
		retire(pod, why, known.Runs[id] == runs.StateFailed, keep, now, &removals, &keeps)
	}
	return removals, keeps
}
