// Package pipeline executes a run: it turns one ticket into a reviewed pull
// request in every repository its project names. A pipeline preset
// (fix-bug, add-feature, fix-no-test, init-project) is an ordered list of
// named steps (presets.go, pure data); the Pipeline runs them in order,
// records each in the run's event stream and in one status comment on the
// ticket that it edits as the run goes, applies the run's transitions
// (ready, publish, succeed, await input, fail), and on a failed step
// comments what failed and why, pushes the unfinished work to a WIP branch
// and marks the ticket failed.
//
// Everything that touches a repository runs inside the run's sandboxes:
// git as argv steps with the token read from the sandbox's environment by
// a credential helper, never written into a step or into Redis; the model's
// tools; the tests. The orchestrator side only talks to the tracker, the
// repository host (pull requests) and the model.
//
// It is given its trackers, repository hosts, sandbox backend and models
// (Deps), and reads what intake recorded from the run's typed fields: it
// must not import a tracker implementation, trackers/connect,
// trackers/intake, a sandbox backend, llm/providers, controllers, the
// workers or internal/* (depguard).
package pipeline
