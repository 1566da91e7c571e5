#!/usr/bin/env bash
# Provides the envtest control plane (kube-apiserver, etcd,
# kube-controller-manager) of the pinned Kubernetes version, the fast way when
# it can:
#
#  1. download: setup-envtest (controller-runtime's, installed from the Go
#     module proxy) fetches kube-apiserver and etcd of $KUBE_VERSION from the
#     envtest releases, and kube-controller-manager, which envtest bundles do
#     not carry, comes from the Kubernetes release (dl.k8s.io) with its
#     published sha256. Seconds to a minute where those hosts are reachable;
#     each step has a short timeout, so where they are not, it costs seconds.
#  2. build: when the download fails, build all three from source through the
#     Go module proxy alone (about 10 minutes on 2 idle cores, 40 under load).
#
# The binaries land in a cache directory keyed by version that every clone on
# the machine shares, so a fresh clone (CI) reuses them. The script is
# idempotent: when the binaries are present it only prints the directory.
#
# Usage: hack/envtest-assets.sh         prints the directory for KUBEBUILDER_ASSETS
# Env:   KUBE_VERSION (1.37.2), ETCD_VERSION (3.7.0, the version kubernetes pins;
#        the build uses it, a download takes the envtest release's etcd),
#        ENVTEST_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/agent-smith/envtest),
#        ENVTEST_DOWNLOAD (1; 0 skips the download), ENVTEST_DOWNLOAD_TIMEOUT
#        (seconds per download step, 120), and for a mirror ENVTEST_INDEX
#        (setup-envtest's --index) and KUBE_RELEASE_URL (https://dl.k8s.io/release)
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-1.37.2}
ETCD_VERSION=${ETCD_VERSION:-3.7.0}
SETUP_ENVTEST_VERSION=${SETUP_ENVTEST_VERSION:-v0.25.1}
ENVTEST_DOWNLOAD=${ENVTEST_DOWNLOAD:-1}
ENVTEST_DOWNLOAD_TIMEOUT=${ENVTEST_DOWNLOAD_TIMEOUT:-120}
KUBE_RELEASE_URL=${KUBE_RELEASE_URL:-https://dl.k8s.io/release}
cache_root=${ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-smith/envtest}
dir="$cache_root/k8s-v$KUBE_VERSION-etcd-v$ETCD_VERSION"
binaries=(kube-apiserver etcd kube-controller-manager)

complete() {
	for b in "${binaries[@]}"; do [ -x "$1/$b" ] || return 1; done
}

# cached prints a complete directory of $KUBE_VERSION: the pinned one, else
# one a download left with the envtest release's etcd.
cached() {
	local d
	for d in "$dir" "$cache_root/k8s-v$KUBE_VERSION-etcd-v"*; do
		case $d in *.tmp) continue ;; esac
		if complete "$d"; then echo "$d"; return 0; fi
	done
	return 1
}

die() { echo "envtest-assets: $*" >&2; exit 1; }
say() { echo "envtest-assets: $*" >&2; }

if cached; then exit 0; fi

command -v go >/dev/null || die "go is not on PATH; install Go 1.26 first"
mkdir -p "$cache_root"
# One provider per machine: a second clone waits for the first instead of
# fetching or building the same binaries twice.
exec 9>"$cache_root/.lock"
if command -v flock >/dev/null; then flock 9; fi
if cached; then exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
goos=$(go env GOOS)
goarch=$(go env GOARCH)

# fetch URL FILE: an HTTPS download that gives up after the timeout.
fetch() {
	if command -v curl >/dev/null; then
		curl -fsSL --connect-timeout 10 --max-time "$ENVTEST_DOWNLOAD_TIMEOUT" -o "$2" "$1"
	elif command -v wget >/dev/null; then
		wget -q --timeout=10 -O "$2" "$1"
	else
		say "neither curl nor wget: no download of $1"
		return 1
	fi
}

# download OUT fills OUT with the three binaries and prints etcd's version.
download() {
	local out=$1 tools="$cache_root/tools/setup-envtest-$SETUP_ENVTEST_VERSION" assets etcd_version sum
	mkdir -p "$out"
	if [ ! -x "$tools/setup-envtest" ]; then
		GOBIN="$tools" GOWORK=off timeout "$ENVTEST_DOWNLOAD_TIMEOUT" \
			go install "sigs.k8s.io/controller-runtime/tools/setup-envtest@$SETUP_ENVTEST_VERSION" >&2 || return 1
	fi
	local index=()
	[ -z "${ENVTEST_INDEX:-}" ] || index=(--index "$ENVTEST_INDEX")
	assets=$(timeout "$ENVTEST_DOWNLOAD_TIMEOUT" "$tools/setup-envtest" use "$KUBE_VERSION" "${index[@]}" \
		--os "$goos" --arch "$goarch" --bin-dir "$work/setup-envtest" -p path) || return 1
	cp "$assets/kube-apiserver" "$assets/etcd" "$out/" || return 1
	local url="$KUBE_RELEASE_URL/v$KUBE_VERSION/bin/$goos/$goarch/kube-controller-manager"
	fetch "$url" "$out/kube-controller-manager" && fetch "$url.sha256" "$work/kcm.sha256" || return 1
	sum=$(sha256sum "$out/kube-controller-manager" | cut -d' ' -f1)
	[ "$sum" = "$(tr -d ' \n' <"$work/kcm.sha256")" ] || { say "kube-controller-manager: sha256 mismatch"; return 1; }
	chmod +x "$out"/*
	"$out/kube-apiserver" --version 2>&1 | grep -qx "Kubernetes v$KUBE_VERSION" || { say "downloaded kube-apiserver is not v$KUBE_VERSION"; return 1; }
	etcd_version=$("$out/etcd" --version | sed -n 's/^etcd Version: //p')
	[ -n "$etcd_version" ] || return 1
	echo "$etcd_version"
}

# install SRC DEST moves a complete set of binaries into the cache.
install_dir() {
	rm -rf "$2.tmp" && mv "$1" "$2.tmp" && rm -rf "$2" && mv "$2.tmp" "$2"
}

if [ "$ENVTEST_DOWNLOAD" = 1 ]; then
	say "downloading kube-apiserver and etcd v$KUBE_VERSION with setup-envtest $SETUP_ENVTEST_VERSION, kube-controller-manager from $KUBE_RELEASE_URL"
	start=$(date +%s)
	if etcd_version=$(download "$work/dl"); then
		dest="$cache_root/k8s-v$KUBE_VERSION-etcd-v$etcd_version"
		install_dir "$work/dl" "$dest"
		say "downloaded in $(($(date +%s) - start))s into $dest"
		echo "$dest"
		exit 0
	fi
	say "download failed after $(($(date +%s) - start))s; building from source instead"
fi

cd "$work"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0

say "building kube-apiserver, kube-controller-manager v$KUBE_VERSION and etcd v$ETCD_VERSION from the module proxy (about 10 minutes on 2 idle cores, 40 under load)"
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
install_dir "$work/out" "$dir"
say "built in $(($(date +%s) - start))s into $dir"
echo "$dir"
