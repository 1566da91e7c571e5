// Package controllers holds the orchestrator's controller-runtime pieces,
// each a manager runnable: the sandbox reconciler, the config reconciler,
// the queue workers, the leader-only poller and housekeeper, and the HTTP
// server. They share one manager whose cache sees only what agent-smith
// owns: its labeled sandbox Pods and its config ConfigMap.
package controllers
