package kubelet

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The status a kubelet reports is built here from what the harness knows;
// writing it is the lifecycle's business.

// phaseRank orders the phases a pod moves through; a pod never moves to a
// lower rank, and a terminal phase is final.
var phaseRank = map[corev1.PodPhase]int{
	"": 0, corev1.PodPending: 1, corev1.PodRunning: 2, corev1.PodSucceeded: 3, corev1.PodFailed: 3,
}

// sane reports whether a pod may move from phase from to phase to.
func sane(from, to corev1.PodPhase) bool {
	if from == to {
		return true
	}
	if phaseRank[from] == 3 {
		return false
	}
	return phaseRank[to] >= phaseRank[from]
}

func waiting(name, image, reason, message string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Image: image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}
}

func running(name, image string, since metav1.Time) corev1.ContainerStatus {
	started := true
	return corev1.ContainerStatus{Name: name, Image: image, Ready: true, Started: &started,
		ContainerID: "harness://" + name,
		State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: since}}}
}

func terminated(name, image string, started metav1.Time, code int32, reason, message string) corev1.ContainerStatus {
	if reason == "" {
		reason = "Completed"
		if code != 0 {
			reason = "Error"
		}
	}
	no := false
	return corev1.ContainerStatus{Name: name, Image: image, Started: &no, ContainerID: "harness://" + name,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Reason: reason, Message: message, StartedAt: started, FinishedAt: metav1.Now(),
		}}}
}

// setCondition sets condition typ of st to status with reason.
func setCondition(st *corev1.PodStatus, typ corev1.PodConditionType, status corev1.ConditionStatus, reason string) {
	now := metav1.Now()
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type == typ {
			if c.Status != status {
				c.LastTransitionTime = now
			}
			c.Status, c.Reason = status, reason
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{Type: typ, Status: status, Reason: reason, LastTransitionTime: now})
}

// pendingStatus is the status of a pod the harness just took on: bound,
// nothing started.
func pendingStatus(pod *corev1.Pod) corev1.PodStatus {
	now := metav1.Now()
	st := corev1.PodStatus{Phase: corev1.PodPending, HostIP: "127.0.0.1", PodIP: "127.0.0.1",
		HostIPs: []corev1.HostIP{{IP: "127.0.0.1"}}, PodIPs: []corev1.PodIP{{IP: "127.0.0.1"}}, StartTime: &now}
	setCondition(&st, corev1.PodScheduled, corev1.ConditionTrue, "")
	if len(pod.Spec.InitContainers) > 0 {
		setCondition(&st, corev1.PodInitialized, corev1.ConditionFalse, "ContainersNotInitialized")
	} else {
		setCondition(&st, corev1.PodInitialized, corev1.ConditionTrue, "")
	}
	setCondition(&st, corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady")
	setCondition(&st, corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady")
	for _, c := range pod.Spec.InitContainers {
		st.InitContainerStatuses = append(st.InitContainerStatuses, waiting(c.Name, c.Image, "PodInitializing", ""))
	}
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, waiting(c.Name, c.Image, "PodInitializing", ""))
	}
	return st
}

// setContainer replaces the status of the container named like cs.
func setContainer(st *corev1.PodStatus, init bool, cs corev1.ContainerStatus) {
	list := &st.ContainerStatuses
	if init {
		list = &st.InitContainerStatuses
	}
	for i := range *list {
		if (*list)[i].Name == cs.Name {
			(*list)[i] = cs
			return
		}
	}
	*list = append(*list, cs)
}
