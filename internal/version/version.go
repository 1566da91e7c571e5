// Package version holds the release of this build. It imports nothing, so
// every binary of the repository (the orchestrator and the sandbox agent)
// can report it.
package version

// Version is set at build time with
// -ldflags "-X github.com/agent-smith/agent-smith/internal/version.Version=…"
// (see the Makefile); "dev" otherwise.
var Version = "dev"
