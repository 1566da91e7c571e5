package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/agent-smith/agent-smith/sandbox/kube"
)

// ReasonSandboxKept is the Event of a failed run's sandbox pod kept for
// inspection (sandbox.keep_failed_pods_minutes).
const ReasonSandboxKept = "SandboxKept"

// keepVerdict is what becomes of a sandbox pod that its run no longer
// needs.
type keepVerdict int

const (
	// keepNo: delete it, as any pod of an ended run.
	keepNo keepVerdict = iota
	// keepMark: its run failed; mark it kept until the time returned.
	keepMark
	// keepHold: it is kept until the time returned; leave it.
	keepHold
	// keepOver: it was kept, and its time is up; delete it.
	keepOver
)

// decideKeep decides about a sandbox pod its run no longer needs, at now.
// A kept pod is held until its keep-until, whatever became of its run (a
// retry, an expiry): its Event promised that time. Only a failed run's
// pods are newly kept, and only when keep > 0; a succeeded or cancelled
// run's go at once.
func decideKeep(pod *corev1.Pod, runFailed bool, keep time.Duration, now time.Time) (keepVerdict, time.Time) {
	if until, ok := kube.KeepUntil(pod); ok {
		if now.Before(until) {
			return keepHold, until
		}
		return keepOver, until
	}
	if runFailed && keep > 0 {
		return keepMark, now.Add(keep)
	}
	return keepNo, time.Time{}
}

// retire plans the end of a pod that is no longer needed, for why: its
// removal, or its keeping as decideKeep says. It returns the time until
// which the pod stays, if it does.
func retire(pod *corev1.Pod, why string, runFailed bool, keep time.Duration, now time.Time,
	removals *[]podRemoval, keeps *[]podKeep) (until time.Time) {
	v, until := decideKeep(pod, runFailed, keep, now)
	switch v {
	case keepMark:
		*keeps = append(*keeps, podKeep{pod, until})
	case keepHold:
	case keepOver:
		*removals = append(*removals, podRemoval{pod, keptOverReason(until, why)})
		return time.Time{}
	default:
		*removals = append(*removals, podRemoval{pod, why})
	}
	return until
}

// podKeep is a pod to mark as kept until until.
type podKeep struct {
	pod   *corev1.Pod
	until time.Time
}

// keptOverReason is the removal reason of a kept pod whose time is up.
func keptOverReason(until time.Time, why string) string {
	return fmt.Sprintf("kept for inspection until %s, which has passed (%s)", until.UTC().Format(time.RFC3339), why)
}

// markKept marks pod as kept until until, deletes its Secret (its job is
// released: nothing in the pod needs the tokens, and nothing in it may
// act for the run any more) and records the Event. The patch is
// optimistic: of two markers (the pod's replica and the leader's
// sweeper), the second finds the pod changed and leaves it.
func markKept(ctx context.Context, c client.Client, recorder events.EventRecorder, pod *corev1.Pod, until time.Time) (bool, error) {
	kept := kube.Kept(pod, until)
	err := c.Patch(ctx, kept, client.MergeFromWithOptions(pod, client.MergeFromWithOptimisticLock{}))
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("keep pod %s: %w", pod.Name, err)
	}
	recorder.Eventf(kept, nil, corev1.EventTypeNormal, ReasonSandboxKept, "Keep", "%s", kube.KeptMessage(kept, until))
	if job := pod.Annotations[kube.AnnotationJob]; job != "" {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: kube.SecretName(job)}}
		if err := c.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
			return true, fmt.Errorf("delete secret %s of kept pod %s: %w", s.Name, pod.Name, err)
		}
	}
	return true, nil
}
