// Package testenv starts the real components the tests of agent-smith run
// against: a redis-server child process on a free loopback port, the
// agent-smith binary built from this checkout, and an envtest control plane
// (kube-apiserver + etcd) built by hack/envtest-assets.sh.
//
// Each is started once per test package by the first test that needs it
// (SharedRedis, SharedCluster, AgentBinary, or a Shared of the package's
// own) and stopped by Main after the last test; a test that needs none
// starts none. None skips silently: a missing redis-server or missing
// envtest binaries fail the tests that need them with the command that
// fixes it; only -short skips them.
//
// It is test support: no production package may import it (depguard).
package testenv
