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
// Native sidecars (init containers with restartPolicy Always) start
// before the next container, run beside the containers, are restarted when
// they exit, and are stopped once the containers have exited, without
// deciding the pod's phase.
//
// It can be told to simulate what only a node produces: image pull
// failures, an OOM kill, an eviction. With Options.RunAsPodUsers (and the
// harness running as root) each container runs as its security context's
// uid and gid, with the pod's fsGroup, and a volume some container mounts
// read-only is writable only by the one user that mounts it read-write.
// Not enforced, as they are the kernel's and the runtime's business:
// capabilities, seccomp, resource limits, emptyDir sizeLimit, ephemeral
// storage and runtimeClassName; the apiserver records them, and tests
// assert them in the pod spec and through admission.
//
// Test support: no production package may import it (depguard).
package kubelet
