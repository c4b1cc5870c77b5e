#!/bin/sh
# Install every Debian package the build, the tests and `make run` need.
# Idempotent: does nothing (and needs no root) when all are present.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libevent-dev libpq-dev librdkafka-dev libcjson-dev libsodium-dev libjwt-dev libssl-dev check
postgresql-15 postgresql-contrib curl jq wrk nginx-light node-ws nodejs chromium groff-base procps iproute2
debhelper lintian rpm python3-yaml openssl"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# Commands that some machines provide from elsewhere (a newer Node.js that
# bundles npm, a pyenv python3): install Debian's only when absent.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages and not root; run: sudo apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
# nginx-light's package starts a server on port 80; we only want its binary.
if [ -x /usr/sbin/nginx ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now nginx >/dev/null 2>&1 || true
fi
pkill -x nginx 2>/dev/null || true
