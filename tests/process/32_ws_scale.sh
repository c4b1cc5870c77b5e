#!/usr/bin/env bash
# 10,000 concurrent WebSocket connections held by one worker (issue 6), then
# one push reaching all of them.  bench/ws.sh measures the same paths harder.
. "$(dirname "$0")/../lib.sh"

N=${WS_SCALE_CONNECTIONS:-10000}
LOAD="$TOP/$BUILD/tests/tools/ws_load"
# both the daemon and the load generator hold N sockets
ulimit -n $((N + N / 2 + 1024)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((N + 200)) ]; then
    echo "ok   (skipped: the file descriptor limit $(ulimit -n) is below $N)"; exit 0
fi
PLUGINS="hello $TPLUGDIR/wsecho.so"
rz_conf "$T/conf" "[websocket]" "test_tokens = true"
rz_start "$T/conf" || exit 1
WPID=$(pgrep -P "$RZ_PID" | head -n 1)
RSS0=$(awk '/VmRSS/ {print $2}' "/proc/$WPID/status")

"$LOAD" -m hold -c "$N" -d 30 -s 127.0.0.1,127.0.0.2 "127.0.0.1:$PORT" >"$T/hold.json" 2>"$T/hold.err" &
L=$!
open=0
for _ in $(seq 1 600); do
    open=$(curl -fsS "$BASE/metrics" | awk '/^rentezy_ws_connections / {print $2}')
    [ "${open:-0}" -ge "$N" ] && break
    kill -0 $L 2>/dev/null || break
    sleep 0.1
done
expect_eq "one worker holds $N connections" "$open" "$N"
RSS1=$(awk '/VmRSS/ {print $2}' "/proc/$WPID/status")
echo "     worker RSS ${RSS0} KiB -> ${RSS1} KiB: $(( (RSS1 - RSS0) * 1024 / N )) bytes per connection"
check "the worker still answers HTTP with $N connections open" curl -fsS --max-time 2 "$BASE/healthz"
kill -INT $L
check "every connection was still open at the end" wait $L
cat "$T/hold.json"
for _ in $(seq 1 100); do
    open=$(curl -fsS "$BASE/metrics" | awk '/^rentezy_ws_connections / {print $2}')
    [ "${open:-1}" = 0 ] && break
    sleep 0.1
done
expect_eq "closed connections are all gone" "$open" 0

check "one push reaches $N connections of one user" \
    "$LOAD" -m push -c "$N" -r 2 -u fan -s 127.0.0.1,127.0.0.2 "127.0.0.1:$PORT"
sed -n 's/^{/     {/p' "$T/check.out"
expect_eq "the worker survived" "$(pgrep -P "$RZ_PID" | head -n 1)" "$WPID"
finish
