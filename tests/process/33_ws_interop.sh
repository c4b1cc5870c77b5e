#!/usr/bin/env bash
# WebSocket interoperability with real clients (issue 6): node's `ws` library
# (Debian's node-ws) and headless Chromium's own WebSocket.  Each part runs
# when its client is installed (scripts/deps.sh installs both) and says so
# when it is skipped.
. "$(dirname "$0")/../lib.sh"

EXP=$(( $(date +%s) + 3600 ))
TOK="test.interop.tenant.$EXP"
PLUGINS="hello $TPLUGDIR/wsecho.so"
# Origin "null": the Chromium page is a file: URL
rz_conf "$T/conf" "[websocket]" "test_tokens = true" "origins = null"
rz_start "$T/conf" || exit 1

if command -v node >/dev/null && { [ -d /usr/share/nodejs/ws ] || node -e "require('ws')" 2>/dev/null; }; then
    node "$TOP/tests/ws/interop.js" "$PORT" "$TOK" >"$T/node.out" 2>&1
    rc=$?
    cat "$T/node.out"
    FAILS=$((FAILS + $(grep -c '^FAIL' "$T/node.out")))
    [ $rc -eq 0 ] || grep -q '^FAIL' "$T/node.out" || { echo "FAIL node ws: exit $rc"; FAILS=$((FAILS + 1)); }
else
    echo "ok   (skipped: node or node-ws is not installed)"
fi

CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROME" ]; then
    sed -e "s/PORT/$PORT/g" -e "s/TOKEN/$TOK/g" "$TOP/tests/ws/chromium.html" >"$T/page.html"
    # the DevTools protocol, not --dump-dom: the page's sockets are asynchronous
    result=$(timeout 60 node "$TOP/tests/ws/chromium.js" "$CHROME" "$T/page.html" \
        "$(mktemp -d "$T/chrome.XXXX")" 2>&1)
    echo "     $result" | head -n 6
    want='"steps":["hello:interop:bearer","echo:true","error:unknown_channel","close:1000:true","hello:interop:","echo:true","error:unknown_channel","close:1000:true"],"end":"ok"'
    check "chromium: subprotocol and query-string auth, 100 kB echo, UTF-8, error channel, clean close" \
        grep -qF "$want" <<<"$result"
else
    echo "ok   (skipped: chromium is not installed)"
fi
finish
