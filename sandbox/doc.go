// Package sandbox is the boundary between the orchestrator and the places
// where repositories are changed: the Sandbox interface the pipeline calls,
// the Provisioner interface the backends implement, the JSON wire protocol
// spoken over Redis with the in-sandbox agent, and Remote, the Redis-backed
// Sandbox every backend hands out.
//
// Keys of one job (prefix default "agentsmith:"):
//
//	{prefix}sandbox:{job}:in               LIST    steps; the caller LPUSHes, the agent BRPOPs
//	{prefix}sandbox:{job}:result:{stepId}  LIST    the one result of one step; the caller BLPOPs
//	{prefix}sandbox:{job}:events           STREAM  live output of run steps, field "data";
//	                                               trimmed by the caller after each step it watched
//	{prefix}sandbox:{job}:heartbeat        STRING  refreshed by the agent, expires when it dies
//	{prefix}sandbox:{job}:cancel           STRING  id of a step its caller gave up on
//
// A result key per step is what makes results impossible to lose to another
// caller: nobody but the caller that pushed a step knows its id's key.
// Every key carries a TTL as a safety net; Release deletes them explicitly.
//
// The sandbox packages must not import runs, trackers, controllers, llm or
// internal/*: a sandbox knows jobs and steps, nothing of the run around
// them.
package sandbox
