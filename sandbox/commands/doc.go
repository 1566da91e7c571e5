// Package commands is the command line of the sandbox side: sandbox-agent,
// the worker in a sandbox, and sandbox-gate, its git. The slim agent binary
// that sandbox pods inject (sandbox/cmd/agent-smith-agent) is these
// commands alone; the orchestrator binary offers them too, for the local
// backend, which runs its own executable as the agent.
//
// It links only the sandbox packages, logging and the command-line helper:
// nothing of Kubernetes, Redis, the trackers or the models, which is what
// keeps the injected binary small. depguard holds it to that.
package commands
