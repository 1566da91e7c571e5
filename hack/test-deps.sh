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
# Any Chromium or Chrome will do (the browser tests look for the same
# names; AGENTSMITH_CHROMIUM names another): CI runners have Google Chrome.
if [ -n "${AGENTSMITH_CHROMIUM:-}" ]; then
	command -v "$AGENTSMITH_CHROMIUM" >/dev/null || { echo "test-deps: AGENTSMITH_CHROMIUM=$AGENTSMITH_CHROMIUM is not an executable" >&2; exit 1; }
elif ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null &&
	! command -v google-chrome-stable >/dev/null && ! command -v google-chrome >/dev/null; then
	missing+=(chromium)
fi
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
