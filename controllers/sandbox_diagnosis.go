package controllers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// health is what a sandbox pod means for its run.
type health int

const (
	// healthPending: not up yet, and not hopeless.
	healthPending health = iota
	// healthReady: the agent's container runs.
	healthReady
	// healthExited: the agent exited on its own with status 0 (it was
	// told to shut down).
	healthExited
	// healthFailed: the pod cannot serve the run.
	healthFailed
)

// diagnosis is health with the reason for a failure and, for a pending
// pod, how long until it counts as not ready in time.
type diagnosis struct {
	health  health
	reason  string
	retryIn time.Duration
}

// hopeless are the waiting reasons after which a container of a sandbox
// pod will not start without someone changing something: fail the run at
// once instead of after the ready timeout.
var hopeless = []string{
	"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull",
	"CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError",
}

// maxMessage bounds the part of a kubelet message quoted in a reason.
const maxMessage = 300

// diagnose tells what pod means for its run at now; a pod that is not
// ready readyTimeout after its creation has failed.
func diagnose(pod *corev1.Pod, now time.Time, readyTimeout time.Duration) diagnosis {
	statuses := slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses)
	for _, cs := range statuses {
		if t := cs.State.Terminated; t != nil && t.Reason == "OOMKilled" {
			return failed("container %s was OOMKilled (exit code %d): it needs more than its memory limit", cs.Name, t.ExitCode)
		}
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
			return failed("container %s was OOMKilled (exit code %d): it needs more than its memory limit", cs.Name, t.ExitCode)
		}
	}
	switch pod.Status.Phase {
	case corev1.PodFailed:
		if pod.Status.Reason != "" {
			return failed("pod %s: %s", pod.Status.Reason, clip(pod.Status.Message))
		}
		for _, cs := range statuses {
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				return failed("container %s exited with code %d (%s)%s", cs.Name, t.ExitCode, t.Reason, lastWords(t.Message))
			}
		}
		return failed("pod failed")
	case corev1.PodSucceeded:
		return diagnosis{health: healthExited}
	}
	for _, cs := range statuses {
		if w := cs.State.Waiting; w != nil && slices.Contains(hopeless, w.Reason) {
			return failed("container %s: %s: %s", cs.Name, w.Reason, clip(w.Message))
		}
	}
	for _, cs := range pod.Status.InitContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return failed("init container %s exited with code %d (%s)%s", cs.Name, t.ExitCode, t.Reason, lastWords(t.Message))
		}
	}
	if pod.Status.Phase == corev1.PodRunning && len(pod.Status.ContainerStatuses) > 0 && allRunning(pod.Status.ContainerStatuses) {
		return diagnosis{health: healthReady}
	}
	left := pod.CreationTimestamp.Add(readyTimeout).Sub(now)
	if left <= 0 {
		return failed("not ready %s after its creation: %s", readyTimeout, waitingFor(pod))
	}
	return diagnosis{health: healthPending, retryIn: left}
}

func failed(format string, args ...any) diagnosis {
	return diagnosis{health: healthFailed, reason: fmt.Sprintf(format, args...)}
}

func allRunning(statuses []corev1.ContainerStatus) bool {
	for _, cs := range statuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

// waitingFor says what a pending pod waits for: an unschedulable
// condition, or its containers' waiting reasons.
func waitingFor(pod *corev1.Pod) string {
	var parts []string
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			parts = append(parts, fmt.Sprintf("unschedulable: %s", clip(c.Message)))
		}
	}
	for _, cs := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
		if w := cs.State.Waiting; w != nil {
			parts = append(parts, fmt.Sprintf("container %s waiting: %s", cs.Name, strings.TrimSpace(w.Reason+" "+clip(w.Message))))
		}
	}
	switch {
	case len(parts) > 0:
	case pod.Spec.NodeName == "":
		return "not scheduled to a node"
	default:
		return "phase " + string(pod.Status.Phase) + " on node " + pod.Spec.NodeName
	}
	return strings.Join(parts, "; ")
}

// lastWords quotes the end of a termination message (the log tail, with
// FallbackToLogsOnError).
func lastWords(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return ""
	}
	if len(msg) > maxMessage {
		msg = "…" + msg[len(msg)-maxMessage:]
	}
	return ": " + msg
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxMessage {
		return s[:maxMessage] + "…"
	}
	return s
}
