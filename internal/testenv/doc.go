// Package testenv starts the real components the tests of agent-smith run
// against: a redis-server child process on a free loopback port, the
// agent-smith binary built from this checkout, and an envtest control plane
// (kube-apiserver + etcd) built by hack/envtest-assets.sh.
//
// They are meant to be started once per test package, from TestMain (Main
// does it for Redis and the binary), and shared by its tests. None skips
// silently: a missing redis-server or missing envtest binaries fail the
// package with the command that fixes it.
package testenv
