package kube

import (
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A failed run's sandbox pods may be kept for inspection
// (sandbox.keep_failed_pods_minutes): they are marked, left to the
// kubelet's end of their containers, and deleted once their time is up.
// They stay owned by their orchestrator pod throughout, so the garbage
// collector still removes the kept pods of a replica that is gone.
const (
	// LabelKept marks a kept pod: kubectl get pods -l agent-smith.dev/kept=true.
	LabelKept = "agent-smith.dev/kept"
	// AnnotationKeepUntil is when a kept pod goes, in RFC 3339 (UTC).
	AnnotationKeepUntil = "agent-smith.dev/keep-until"
)

// KeepUntil returns when the kept pod goes; ok is false for a pod that is
// not kept, or whose annotation is not a time (then it is not kept).
func KeepUntil(pod *corev1.Pod) (until time.Time, ok bool) {
	v, ok := pod.Annotations[AnnotationKeepUntil]
	if !ok {
		return time.Time{}, false
	}
	until, err := time.Parse(time.RFC3339, v)
	return until, err == nil
}

// Kept returns a copy of pod's metadata marked as kept until until (to the
// second, in UTC); the rest of the pod is shared with pod.
func Kept(pod *corev1.Pod, until time.Time) *corev1.Pod {
	out := *pod
	out.Labels = maps.Clone(pod.Labels)
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	out.Labels[LabelKept] = "true"
	out.Annotations = maps.Clone(pod.Annotations)
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[AnnotationKeepUntil] = until.UTC().Truncate(time.Second).Format(time.RFC3339)
	return &out
}

// KeptMessage is the Event of a pod kept until until: why, what is left of
// it, where to look and how to remove it early.
func KeptMessage(pod *corev1.Pod, until time.Time) string {
	return fmt.Sprintf("run %s failed: sandbox kept for inspection until %s (sandbox.keep_failed_pods_minutes). "+
		"Its job is released: its agent and gate can no longer act for the run, and stop; "+
		"`kubectl logs -n %s %s --all-containers` shows their steps. Delete it early with `kubectl delete pod -n %s %s`.",
		pod.Labels[LabelRun], until.UTC().Truncate(time.Second).Format(time.RFC3339),
		pod.Namespace, pod.Name, pod.Namespace, pod.Name)
}
