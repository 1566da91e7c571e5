package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels of every sandbox pod: Kubernetes' recommended labels, then the
// ones that tie the pod to its run, repository and orchestrator replica.
// The manager's cache selects on LabelManagedBy, so a pod without it is
// invisible to the orchestrator.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelInstance  = "app.kubernetes.io/instance"

	LabelRun   = "agent-smith.dev/run"
	LabelRepo  = "agent-smith.dev/repo"
	LabelOwner = "agent-smith.dev/owner"
	// LabelFence is the run start (runs.Run.Fence, decimal) the pod
	// belongs to; pods of another fence are removed.
	LabelFence = "agent-smith.dev/fence"

	// AnnotationJob holds the sandbox's full job id: the Redis keys and
	// the agent's --job-id, which name the run attempt.
	AnnotationJob = "agent-smith.dev/job"

	AppName          = "agent-smith"
	ComponentSandbox = "sandbox"
)

// hashLen is the number of hex digits of the hash that keeps shortened
// names and label values distinct.
const hashLen = 10

// LabelValue returns s when it is a valid label value, else a valid one
// derived from it: the characters a label allows, cut short, ending in a
// hash of s so that different inputs stay different.
func LabelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	return shorten(s, validation.LabelValueMaxLength, func(r rune) (rune, bool) {
		return r, r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
	})
}

// OwnedBy reports whether pod was created by the replica named name with
// uid: its owner label and its ownerReference both say so.
func OwnedBy(pod *corev1.Pod, name, uid string) bool {
	if pod.Labels[LabelOwner] != LabelValue(name) {
		return false
	}
	for _, ref := range pod.OwnerReferences {
		if string(ref.UID) == uid && ref.Kind == "Pod" {
			return true
		}
	}
	return false
}

// shorten makes a name of at most limit characters from s: each rune as
// keep maps it (or '-' where keep refuses it), cut to leave room for
// "-{hash of s}", with no separator at either end.
func shorten(s string, limit int, keep func(rune) (rune, bool)) string {
	var b strings.Builder
	for _, r := range s {
		if m, ok := keep(r); ok {
			b.WriteRune(m)
		} else {
			b.WriteByte('-')
		}
	}
	sum := sha256.Sum256([]byte(s))
	suffix := hex.EncodeToString(sum[:])[:hashLen]
	head := b.String()
	if room := limit - len(suffix) - 1; len(head) > room {
		head = head[:room]
	}
	head = strings.Trim(head, "-_.")
	if head == "" {
		return suffix
	}
	return head + "-" + suffix
}
