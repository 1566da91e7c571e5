package kubelet

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestStatusNeverMovesBackwardsOrLeavesATerminalPhase(t *testing.T) {
	for _, tc := range []struct {
		from, to corev1.PodPhase
		want     bool
	}{
		{"", corev1.PodPending, true},
		{corev1.PodPending, corev1.PodRunning, true},
		{corev1.PodPending, corev1.PodFailed, true},
		{corev1.PodRunning, corev1.PodSucceeded, true},
		{corev1.PodRunning, corev1.PodRunning, true},
		{corev1.PodRunning, corev1.PodPending, false},
		{corev1.PodSucceeded, corev1.PodRunning, false},
		{corev1.PodFailed, corev1.PodSucceeded, false},
		{corev1.PodSucceeded, corev1.PodFailed, false},
	} {
		if got := sane(tc.from, tc.to); got != tc.want {
			t.Errorf("sane(%q → %q) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}
