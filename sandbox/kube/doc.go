// Package kube is the Kubernetes sandbox backend: the pure builder of the
// sandbox pod (one per repository per run attempt, named
// sandbox-{run}-{repo}, the agent injected by an init container into an
// unmodified toolchain image), the labels that tie a pod to its run and its
// orchestrator replica (and the marks of a failed run's pod kept for
// inspection), and the Provisioner the pipeline uses.
//
// The Provisioner never calls the Kubernetes API. The sandbox reconciler
// (package controllers) creates and deletes the pods from the run state in
// Redis and posts what it sees on a Board; Provision waits there until
// every sandbox of the attempt is ready (or one failed) and hands out the
// jobs of the replica's sandbox API (package gateway) that the pod's agent
// and gate serve.
//
// Of agent-smith it imports config and sandbox (and its gateway); it must not import runs,
// trackers, controllers or llm (the reconciler passes what it needs).
package kube
