// Package manifests holds agent-smith's Kubernetes objects as a Kustomize
// base (kubectl apply -k manifests/). The Go files only test them against a
// real apiserver; nothing imports this package.
package manifests
