package kube

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/agent-smith/agent-smith/sandbox/gateway"
)

// Keys of a sandbox's Secret.
const (
	SecretAgentToken = "agent-token"
	SecretGateToken  = "gate-token"
)

// SecretName is the name of the Secret of the sandbox of job: one per
// attempt, so a re-attempt (perhaps by another replica) never meets the
// Secret of an earlier one.
func SecretName(job string) string { return "sandbox-" + job }

// Secret is the sandbox's own Secret, labelled and owned like its pod: the
// agent's and the gate's tokens for the replica's sandbox API, valid for
// this sandbox's job only. It must exist before the pod, whose containers
// take their token from it.
func (b *Builder) Secret(s Spec, t gateway.Tokens) *corev1.Secret {
	meta := b.objectMeta(s)
	meta.Name = SecretName(s.JobID())
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: meta,
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{SecretAgentToken: []byte(t.Agent), SecretGateToken: []byte(t.Gate)},
	}
}
