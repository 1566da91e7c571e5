// Package sandbox is the boundary between the orchestrator and the places
// where repositories are changed: the Sandbox and Gate interfaces the
// pipeline calls, the Provisioner interface the backends implement, and the
// JSON records of the sandbox API (package gateway) that the in-sandbox
// agent and git gate speak.
//
// A sandbox never talks to Redis, nor to anything of the orchestrator but
// the sandbox API of the replica that owns its run, with a token valid for
// its own job and role only. Everything it sends back is bounded (see
// MaxResultBytes) and untrusted.
//
// The sandbox packages must not import runs, trackers, controllers, llm or
// internal/*: a sandbox knows jobs and steps, nothing of the run around
// them.
package sandbox
