// Package gateway is the sandbox API: the only way into the orchestrator
// from a sandbox. The replica that owns a run serves it, brokers the
// steps of the run's sandboxes in memory and hands each Job to the
// pipeline as a sandbox.Sandbox (the agent's steps) and a sandbox.Gate
// (the git gate's steps).
//
// Every request carries a bearer token derived from a key this process
// made at start and never stored: HMAC-SHA256(key, role, job), so a token
// is valid for one job and one role, and for this process only. Every
// request is bounded before anything is decoded (sandbox.MaxResultBytes,
// sandbox.MaxEventRequestBytes, sandbox.StepEventBudget, two open polls
// and two uploads per job and role), and nothing a sandbox sends reaches
// Redis.
//
//	POST /v1/{role}/{job}/next             NextRequest → 200 NextResponse | 204 (held ≤ PollHold)
//	POST /v1/{role}/{job}/results/{step}   StepResult  → 204 | 409 unknown step | 413
//	POST /v1/{role}/{job}/events/{step}    []StepEvent → 204 | 409 | 413 | 429 budget spent
//	every route: 401 without the job's token for the role, 410 once the job is released
//
// A poll that names its running step never gets a step: it is the
// heartbeat of that step and its cancel channel. A role is alive while
// one of its polls is open, or its last poll or upload was less than
// DeadAfter ago.
//
// It must not import the run store, the controllers or Redis.
package gateway
