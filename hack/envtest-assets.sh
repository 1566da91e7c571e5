#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver, etcd, kube-controller-manager)
# from the Go module proxy, because no binary downloader (setup-envtest,
# dl.k8s.io, GitHub releases) is reachable from our build machines.
#
# The binaries land in a cache directory keyed by version that every clone on
# the machine shares, so a fresh clone (CI) reuses them. The script is
# idempotent: when the binaries are present it only prints the directory.
#
# Usage: hack/envtest-assets.sh         prints the directory for KUBEBUILDER_ASSETS
# Env:   KUBE_VERSION (1.37.2), ETCD_VERSION (3.7.0, the version kubernetes pins),
#        ENVTEST_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/agent-smith/envtest)
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-1.37.2}
ETCD_VERSION=${ETCD_VERSION:-3.7.0}
cache_root=${ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-smith/envtest}
dir="$cache_root/k8s-v$KUBE_VERSION-etcd-v$ETCD_VERSION"
binaries=(kube-apiserver etcd kube-controller-manager)

complete() {
	for b in "${binaries[@]}"; do [ -x "$dir/$b" ] || return 1; done
}

die() { echo "envtest-assets: $*" >&2; exit 1; }

if complete; then echo "$dir"; exit 0; fi

command -v go >/dev/null || die "go is not on PATH; install Go 1.26 first"
mkdir -p "$cache_root"
# One builder per machine: a second clone waits for the first instead of
# building the same binaries twice.
exec 9>"$cache_root/.lock"
if command -v flock >/dev/null; then flock 9; fi
if complete; then echo "$dir"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0

echo "envtest-assets: building kube-apiserver, kube-controller-manager v$KUBE_VERSION and etcd v$ETCD_VERSION from the module proxy (about 9 minutes cold on 2 cores)" >&2
start=$(date +%s)
go mod init envtest-assets >/dev/null 2>&1

# kubernetes' own go.mod points its staging modules at ./staging/src/k8s.io/X;
# outside its repository each must be replaced by the published k8s.io/X v0.Y.Z.
kube_mod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
[ -f "$kube_mod" ] || die "could not download k8s.io/kubernetes@v$KUBE_VERSION from $(go env GOPROXY)"
staging_version="v0.${KUBE_VERSION#*.}"
replaces=()
while read -r mod; do
	replaces+=("-replace=$mod=$mod@$staging_version")
done < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*#\1#p' "$kube_mod")
[ "${#replaces[@]}" -gt 0 ] || die "found no staging replace directives in $kube_mod"
go mod edit "${replaces[@]}" -require="k8s.io/kubernetes@v$KUBE_VERSION"

go get "k8s.io/kubernetes/cmd/kube-apiserver@v$KUBE_VERSION" \
	"k8s.io/kubernetes/cmd/kube-controller-manager@v$KUBE_VERSION" \
	"go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2 || die "resolving modules failed"

minor=${KUBE_VERSION#*.}; minor=${minor%%.*}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
	-X k8s.io/component-base/version.gitTreeState=clean \
	-X k8s.io/client-go/pkg/version.gitVersion=v$KUBE_VERSION"
mkdir -p "$work/out"
go build -trimpath -ldflags "$ldflags" -o "$work/out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
go build -trimpath -ldflags "$ldflags" -o "$work/out/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager >&2
go build -trimpath -ldflags "-s -w" -o "$work/out/etcd" go.etcd.io/etcd/server/v3 >&2

"$work/out/kube-apiserver" --version >&2 || die "built kube-apiserver does not run"
rm -rf "$dir.tmp" && mv "$work/out" "$dir.tmp" && rm -rf "$dir" && mv "$dir.tmp" "$dir"
echo "envtest-assets: built in $(( $(date +%s) - start ))s into $dir" >&2
echo "$dir"
