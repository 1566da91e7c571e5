// Package server is the orchestrator's HTTP front, a manager runnable on
// every replica: one mux with the tracker webhooks (a handler it is given),
// the probes (/healthz, and /readyz that fails while draining or while a
// readiness check fails), /metrics, and the console (run API and web page),
// another handler it is given.
//
// It serves what it is handed and decides nothing about runs; it must not
// import the pipeline, the workers, controllers, trackers, sandbox or llm.
package server
