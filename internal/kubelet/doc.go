// Package kubelet plays the kubelet for sandbox pods on an envtest control
// plane, which has none (and no scheduler). It binds every pod carrying the
// sandbox labels to a node of its own, runs the pod's init containers and
// then its containers as local processes (their command and args, with the
// container's environment: $(VAR) expanded, secretKeyRef values read from
// the Secret, emptyDir mount paths mapped to directories of the pod's own),
// and reports what happens through the pod status, phase by phase, with
// container states and exit codes, as a kubelet would. It finishes graceful
// deletions (the apiserver waits for a kubelet to do that) and never moves a
// pod backwards (the apiserver would accept Succeeded → Running).
//
// It can be told to simulate what only a node produces: image pull
// failures, an OOM kill, an eviction. Security contexts and resource
// limits are recorded by the apiserver but not enforced here: processes
// run as the test's user.
//
// Test support: no production package may import it (depguard).
package kubelet
