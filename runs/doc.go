// Package runs owns the life of a run: its model, the pure state machine that
// governs it, and the Redis store that keeps it — submission with delivery
// dedup and a one-run-per-ticket claim, an at-least-once queue on a stream
// with a consumer group, heartbeats and reclaim of runs whose owner died,
// hand back on drain, each run's event log (its transcript: typed entries,
// bounded, followed live), the list of runs by creation, cancel and
// restart on request, retention and orphan sweeping.
//
// Every state change goes through one Lua script that compare-and-sets the
// state and applies all its side effects (queue entry, ticket claim, state
// index, expiry) at once, so a crash at any point leaves no half state.
// The scripts only execute: which transitions are legal and what each one
// does is decided by the pure functions in state.go.
//
// On Redis Cluster the prefix must carry a hash tag (e.g. "{agentsmith}:")
// because the scripts touch several keys of one run together.
//
// It must not import the pipeline, the workers, trackers, llm or
// controllers: they build on it.
package runs
