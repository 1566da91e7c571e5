// Package agent is the worker inside a sandbox: it takes steps for one job
// from Redis, executes them one at a time against its work root, streams
// the output of commands, and answers every step with its result.
//
// It is built into the agent-smith binary (`agent-smith sandbox-agent`),
// which an init container copies into the repository's toolchain image
// (Inject). It shares nothing with the orchestrator but Redis and the wire
// types of package sandbox; credentials reach it as process environment.
//
// Of agent-smith it imports sandbox and its internal Redis retry alone.
package agent
