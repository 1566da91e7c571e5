// Package gate is the git of a sandbox, kept outside its toolchain: the
// only code that holds the repository's credential, talks to its remote
// and pushes. In a sandbox pod it runs as a native sidecar (`agent-smith
// sandbox-gate`, under a uid of its own, the workspace mounted read-only)
// serving the gate's steps of the sandbox API; the local backend calls it
// in the orchestrator's process.
//
// It fetches into a bare repository of its own, which the workspace reads
// as git alternates, and takes commits back as a bundle the workspace
// writes (sandbox.PushBundle): copied without following links, verified,
// fsck-ed, then pushed from the clean repository to the configured URL
// only, and only to the run's branch and its -wip twin. Every git command
// runs with an environment and a configuration of the gate's own: nothing
// of the workspace (hooks, remotes, insteadOf, credential helpers, proxies,
// sshCommand) is read. The credential reaches git just in time, through a
// credential helper that asks the gate over an inherited socket; it is in
// no argument, environment variable or file.
//
// It must stay free of heavy imports: it is part of the binary injected
// into every sandbox.
package gate
