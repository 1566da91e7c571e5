package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/agent-smith/agent-smith/sandbox/kube"
)

// A sandbox's Secret holds its job's tokens. The reconciler creates it
// before the pod (whose containers read it) and deletes it with the pod;
// it never reads one. Its name is the job's (kube.SecretName): a job is
// one attempt of one run, which one replica provisions, so a Secret of
// that name that exists already is this replica's, made by an earlier
// reconcile. Secrets are owned by the orchestrator pod, and go with it
// should a deletion be missed.

// createSecret creates the Secret of spec's sandbox with its tokens.
func (r *SandboxReconciler) createSecret(ctx context.Context, spec kube.Spec) error {
	secret := r.builder.Secret(spec, r.opts.Tokens(spec.JobID()))
	err := r.client.Create(ctx, secret)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create secret %s: %w", secret.Name, err)
	}
	return nil
}

// deleteSecret deletes the Secret of job, if there is one.
func (r *SandboxReconciler) deleteSecret(ctx context.Context, job string) error {
	if job == "" {
		return nil
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.opts.Namespace, Name: kube.SecretName(job)}}
	if err := r.client.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete secret %s: %w", s.Name, err)
	}
	return nil
}
