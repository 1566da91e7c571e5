#!/usr/bin/env bash
# Installs what the tests need from Debian's packages when it is missing:
# redis-server (tests start their own on a free loopback port), git,
# ripgrep (the sandbox agent's grep uses it when present; a test holds it
# to the built-in engine), and chromium (the web page's browser tests
# drive it headless).
# Idempotent; prints nothing when everything is present.
set -euo pipefail

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v git >/dev/null || missing+=(git)
command -v rg >/dev/null || missing+=(ripgrep)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "test-deps: missing ${missing[*]}; install as root: apt-get update && apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "test-deps: installing ${missing[*]} from Debian packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# The package starts a system redis on 6379; tests never use it, and a
# daemon left running only costs memory.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
	systemctl stop redis-server || true
fi
