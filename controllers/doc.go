// Package controllers holds agent-smith's controller-runtime reconcilers:
// the sandbox reconciler (desired pods from the run state in Redis, actual
// pods from the cache; creates, deletes, keeps a failed run's pods for
// sandbox.keep_failed_pods_minutes, and reports readiness or failure),
// the config reconciler (hot reload of the agentsmith.yml ConfigMap), the
// leader's sandbox sweeper, and the cache options that keep the manager's
// informers to agent-smith's labeled Pods and its one ConfigMap.
//
// Reconcilers read runs through small interfaces; the package must not
// import the pipeline, the workers, internal/* (the HTTP server, the
// commands), llm, the local sandbox backend or anything that reaches a
// tracker (its implementations, trackers/connect, trackers/intake).
package controllers
