#!/bin/sh
# `make run`: serve every built plugin on one port, in the foreground, with
# the shipped configuration (etc/rentezy.d) plus development overrides.
set -eu
BUILD=${1:-build}
PORT=${2:-8080}
TOP=$(cd "$(dirname "$0")/.." && pwd)
plugins=$(cd "$TOP/$BUILD/plugins" && ls *.so | sed 's/\.so$//' | tr '\n' ' ')
mkdir -p "$TOP/var/secrets"
[ -s "$TOP/var/secrets/jwt" ] || head -c 48 /dev/urandom | base64 -w0 > "$TOP/var/secrets/jwt"
chmod 600 "$TOP/var/secrets/jwt"
export RENTEZY_HOST_LISTEN="127.0.0.1:$PORT"
export RENTEZY_HOST_PLUGIN_DIR="$TOP/$BUILD/plugins"
export RENTEZY_HOST_PLUGINS="$plugins"
export RENTEZY_DATABASE_URL="$("$TOP/scripts/pg.sh" url)"
# The web app, built by `make web`, served at / by the web plugin.
export RENTEZY_PLUGIN_WEB_ROOT="$TOP/$BUILD/web"
export RENTEZY_PLUGIN_PROPERTY_MEDIA_DIR="$TOP/var/media"
# The sandbox payment provider confirms asynchronous payments on our own port.
export RENTEZY_PLUGIN_RENT_SANDBOX_WEBHOOK_URL="http://127.0.0.1:$PORT/v1/payments/webhooks/sandbox"
# One development secret signs (auth plugin) and verifies (host) tokens.
export RENTEZY_AUTH_ALGORITHM=HS256
export RENTEZY_AUTH_JWT_SECRET_FILE="$TOP/var/secrets/jwt"
export RENTEZY_PLUGIN_AUTH_ALGORITHM=HS256
export RENTEZY_PLUGIN_AUTH_JWT_SECRET_FILE="$TOP/var/secrets/jwt"
echo "rentezyd: serving $plugins"
echo "rentezyd: http://127.0.0.1:$PORT  (Ctrl-C stops)"
exec "$TOP/$BUILD/rentezyd" --config-dir "$TOP/etc/rentezy.d"
