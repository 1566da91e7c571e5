package controllers

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/kube"
)

// sandboxState is what one reconcile of a run knows.
type sandboxState struct {
	runID string
	// run is nil when the run does not exist (never did, or expired).
	run *runs.Run
	// pods are the sandbox pods labeled with the run, of every replica.
	pods         []corev1.Pod
	me           runs.Owner
	now          time.Time
	readyTimeout time.Duration
	// keepFailed is sandbox.keep_failed_pods_minutes.
	keepFailed time.Duration
}

// sandboxPlan is what a reconcile does: the decisions of planSandboxes,
// carried out by the reconciler.
type sandboxPlan struct {
	// create lists the repositories whose pod is missing.
	create []string
	remove []podRemoval
	// keep lists the pods of a failed run to mark as kept.
	keep []podKeep
	// ready and failed are the sandboxes of the current attempt that came
	// up or cannot.
	ready  []sandboxReport
	failed []sandboxReport
	// failRun, when set, is why the run must fail.
	failRun string
	// forget: the run is not this replica's to provision (anymore).
	forget bool
	// requeueAfter is when the earliest pending pod runs out of time, or
	// the earliest kept pod's time is up.
	requeueAfter time.Duration
}

// wake makes the reconcile come back in d at the latest.
func (p *sandboxPlan) wake(d time.Duration) {
	if p.requeueAfter == 0 || d < p.requeueAfter {
		p.requeueAfter = d
	}
}

type podRemoval struct {
	pod    *corev1.Pod
	reason string
}

type sandboxReport struct {
	repo, job string
	// pod is nil for a sandbox whose pod is gone.
	pod    *corev1.Pod
	reason string
	// record: the run does not know yet; write it and tell the pod's
	// events.
	record bool
}

// retire plans the end of a pod the run no longer needs, for why.
func (p *sandboxPlan) retire(s sandboxState, pod *corev1.Pod, why string) {
	failed := s.run != nil && s.run.State == runs.StateFailed
	if until := retire(pod, why, failed, s.keepFailed, s.now, &p.remove, &p.keep); !until.IsZero() {
		p.wake(until.Sub(s.now))
	}
}

// planSandboxes decides, for one run, which sandbox pods to create and to
// delete and what to report. A replica provisions a run while the run is
// active and owned by it: one pod per repository, of the run's current
// start (fence). Pods of this replica that do not fit that are deleted; so
// are pods of another start (fence), whichever replica made them, and
// pods of other replicas that hold the name of a pod this replica needs.
// Other replicas' pods are otherwise theirs to handle. A pod that goes
// may be kept for a while instead (see decideKeep).
func planSandboxes(s sandboxState) sandboxPlan {
	var p sandboxPlan
	if why := notProvisioning(s); why != "" {
		p.forget = true
		for i := range s.pods {
			if pod := &s.pods[i]; s.mine(pod) && pod.DeletionTimestamp == nil {
				p.retire(s, pod, why)
			}
		}
		return p
	}
	current, occupied := sortPods(s, &p)
	var failures []string
	for _, repo := range s.run.Repos {
		if f := planRepo(s, &p, repo, current[repo], occupied[repo]); f != "" {
			failures = append(failures, fmt.Sprintf("sandbox of repo %s: %s", repo, f))
		}
	}
	p.failRun = strings.Join(failures, "; ")
	return p
}

func (s sandboxState) mine(pod *corev1.Pod) bool { return kube.OwnedBy(pod, s.me.Name, s.me.UID) }

// sortPods finds the pod of the current attempt of each repository
// (current) and the repositories whose pod name is taken (occupied), and
// plans the removal of the pods that do not belong.
func sortPods(s sandboxState, p *sandboxPlan) (current map[string]*corev1.Pod, occupied map[string]bool) {
	run := s.run
	wanted := map[string]string{} // pod name → repo
	for _, repo := range run.Repos {
		wanted[kube.PodName(run.ID, run.Fence, repo)] = repo
	}
	fence := strconv.FormatInt(run.Fence, 10)
	current, occupied = map[string]*corev1.Pod{}, map[string]bool{}
	for i := range s.pods {
		pod := &s.pods[i]
		repo, ok := wanted[pod.Name]
		if ok {
			occupied[repo] = true
		}
		job := kube.Spec{RunID: run.ID, Attempt: run.Attempt, Fence: run.Fence, Repo: repo}.JobID()
		var why string
		switch {
		case pod.DeletionTimestamp != nil:
			continue // on its way out; its deletion brings us back
		case pod.Labels[kube.LabelFence] != fence:
			why = fmt.Sprintf("of fence %q (an earlier start); run %s is at fence %s", pod.Labels[kube.LabelFence], run.ID, fence)
		case !ok && !s.mine(pod):
			continue
		case !ok:
			why = "not a repository of the run"
		case !s.mine(pod):
			why = fmt.Sprintf("left by replica %s; run %s is now provisioned by %s", pod.Labels[kube.LabelOwner], run.ID, s.me.Name)
		case pod.Annotations[kube.AnnotationJob] != job:
			why = fmt.Sprintf("of job %s; the run is at attempt %d", pod.Annotations[kube.AnnotationJob], run.Attempt)
		default:
			current[repo] = pod
			continue
		}
		p.retire(s, pod, why)
	}
	return current, occupied
}

// planRepo decides about the sandbox of one repository, whose pod of the
// current attempt is pod (nil when it has none), and returns why the run
// fails because of it, if it does.
func planRepo(s sandboxState, p *sandboxPlan, repo string, pod *corev1.Pod, occupied bool) (failure string) {
	run := s.run
	job := kube.Spec{RunID: run.ID, Attempt: run.Attempt, Fence: run.Fence, Repo: repo}.JobID()
	known, hasRecord := run.Sandboxes[repo]
	if hasRecord && (known.Attempt != run.Attempt || known.Fence != run.Fence) {
		known, hasRecord = runs.SandboxStatus{}, false
	}
	if pod == nil {
		switch {
		case occupied:
			// Wait for the old pod to go.
		case hasRecord && known.Phase == runs.SandboxReady:
			// A new pod would have an empty work tree under the same
			// job: the run's work is lost.
			reason := "its pod was deleted while the run was using it"
			p.failed = append(p.failed, sandboxReport{repo: repo, job: job, reason: reason, record: true})
			return reason
		case hasRecord && known.Phase == runs.SandboxFailed:
			p.failed = append(p.failed, sandboxReport{repo: repo, job: job, reason: known.Reason})
		default:
			p.create = append(p.create, repo)
		}
		return ""
	}
	d := diagnose(pod, s.now, s.readyTimeout)
	switch {
	case d.health == healthReady:
		p.ready = append(p.ready, sandboxReport{repo: repo, job: job, pod: pod, record: !hasRecord || known.Phase != runs.SandboxReady})
	case d.health == healthExited && hasRecord && known.Phase == runs.SandboxReady:
		// The agent was shut down (Release): the run is finishing.
	case d.health == healthExited:
		d.reason = "the agent exited before the sandbox was ready"
		fallthrough
	case d.health == healthFailed:
		fresh := !hasRecord || known.Phase != runs.SandboxFailed
		p.failed = append(p.failed, sandboxReport{repo: repo, job: job, pod: pod, reason: d.reason, record: fresh})
		if fresh {
			return d.reason
		}
	default:
		p.wake(d.retryIn)
	}
	return ""
}

// notProvisioning says why this replica provisions no sandbox for the run
// right now, or "" when it does.
func notProvisioning(s sandboxState) string {
	switch run := s.run; {
	case run == nil:
		return fmt.Sprintf("run %s does not exist", s.runID)
	case !run.State.Active():
		return fmt.Sprintf("run %s is %s", run.ID, run.State)
	case run.Owner.Name != s.me.Name || run.Owner.UID != s.me.UID:
		return fmt.Sprintf("run %s is owned by replica %s", run.ID, run.Owner.Name)
	}
	return ""
}
