// Package server is the orchestrator's HTTP front, manager runnables on
// every replica: the public mux with the tracker webhooks (a handler it is
// given) and the probes (/healthz, and /readyz that fails while draining or
// while a readiness check fails), and the admin mux with /metrics and the
// console (run API and web page, another handler it is given), each on its
// own listener.
//
// It serves what it is handed and decides nothing about runs; it must not
// import the pipeline, the workers, controllers, trackers, sandbox or llm.
package server
