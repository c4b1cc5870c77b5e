#!/usr/bin/env bash
# WebSocket (issue 6): how many idle authenticated connections one worker
# holds and what each costs, echo round trips at 10,000 connections, and the
# time for one push to reach 10,000 connections of a user (one worker, then
# two).  The load generator (tests/tools/ws_load) runs on the same machine.
#   BENCH_WS_IDLE=50000 BENCH_WS_N=10000 BENCH_WS_ECHO=20000 BENCH_WS_PUSHES=20
. "$(dirname "$0")/lib.sh"

IDLE=${BENCH_WS_IDLE:-50000}
N=${BENCH_WS_N:-10000}
ECHOS=${BENCH_WS_ECHO:-20000}
PUSHES=${BENCH_WS_PUSHES:-20}
LOAD="$TOP/$BUILD/tests/tools/ws_load"
SRC=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 # 4 x 28k ephemeral ports
ulimit -n $((IDLE + IDLE / 4 + 4096)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((IDLE + 1024)) ]; then
    IDLE=$(( $(ulimit -n) - 1024 ))
    echo "note: the file descriptor limit allows only $IDLE idle connections"
fi
PLUGINS="hello $TPLUGDIR/wsecho.so"
LOG_LEVEL=warn rz_conf "$T/c1" "[host]" "access_log = false" "[websocket]" "test_tokens = true"
rz_start "$T/c1" || exit 1
WPID=$(pgrep -P "$RZ_PID" | head -n 1)
ws_open() { curl -fsS "$BASE/metrics" | awk '/^rentezy_ws_connections / {print $2}'; }
tcp_pages() { awk '/^TCP:/ {print $NF}' /proc/net/sockstat; }

# 1. idle connections and memory
RSS0=$(rss_kb "$WPID"); TCP0=$(tcp_pages)
"$LOAD" -m hold -c "$IDLE" -d 0 -s "$SRC" "127.0.0.1:$PORT" >"$T/idle.json" 2>"$T/idle.err" &
L=$!
held=0
for _ in $(seq 1 1200); do
    held=$(ws_open); [ "${held:-0}" -ge "$IDLE" ] && break
    kill -0 $L 2>/dev/null || break
    sleep 0.1
done
sleep 1
held=$(ws_open); RSS1=$(rss_kb "$WPID"); TCP1=$(tcp_pages)
HEALTH_MS=$(curl -fsS -o /dev/null -w '%{time_total}' "$BASE/healthz" | awk '{printf "%.2f", $1 * 1000}')
kill -INT $L; wait $L
PER_CONN=$(awk -v a="$RSS0" -v b="$RSS1" -v n="$held" 'BEGIN {printf "%.2f", n ? (b - a) / n : 0}')
KERNEL=$(awk -v a="$TCP0" -v b="$TCP1" -v n="$held" 'BEGIN {printf "%.2f", n ? (b - a) * 4 / n : 0}')
for _ in $(seq 1 300); do [ "$(ws_open)" = 0 ] && break; sleep 0.1; done

# 2. echo round trips at N connections
"$LOAD" -m echo -c "$N" -r "$ECHOS" -p 100 -s "$SRC" "127.0.0.1:$PORT" >"$T/echo.json" 2>"$T/echo.err"
for _ in $(seq 1 300); do [ "$(ws_open)" = 0 ] && break; sleep 0.1; done
# 3. one push to N connections of one user
"$LOAD" -m push -c "$N" -r "$PUSHES" -u fan1 -s "$SRC" "127.0.0.1:$PORT" >"$T/push1.json" 2>"$T/push1.err"
rz_stop

# 4. the same push with two workers (SO_REUSEPORT spreads the connections)
PORT=$(free_port); BASE="http://127.0.0.1:$PORT"
WORKERS=2 LOG_LEVEL=warn rz_conf "$T/c2" "[host]" "access_log = false" "[websocket]" "test_tokens = true"
rz_start "$T/c2" || exit 1
"$LOAD" -m push -c "$N" -r "$PUSHES" -u fan2 -s "$SRC" "127.0.0.1:$PORT" >"$T/push2.json" 2>"$T/push2.err"
rz_stop

j() { sed -n "s/.*\"$2\":\([0-9.-]*\).*/\1/p" "$T/$1.json"; }
ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
printf "%-52s %14s\n" "measure" "value"
printf "%-52s %14s\n" "idle authenticated connections held by one worker" "$held / $IDLE"
printf "%-52s %14s\n" "  worker RSS growth per connection (KiB)" "$PER_CONN"
printf "%-52s %14s\n" "  kernel TCP memory per connection, both ends (KiB)" "$KERNEL"
printf "%-52s %14s\n" "  connect time for all (s)" "$(j idle connect_seconds)"
printf "%-52s %14s\n" "  GET /healthz while holding them (ms)" "$HEALTH_MS"
printf "%-52s %14s\n" "echo round trip p50 at $N connections (ms)" "$(ms "$(j echo rtt_p50_us)")"
printf "%-52s %14s\n" "echo round trip p99 at $N connections (ms)" "$(ms "$(j echo rtt_p99_us)")"
printf "%-52s %14s\n" "push to all $N, 1 worker: p50 (ms)" "$(ms "$(j push1 push_all_p50_us)")"
printf "%-52s %14s\n" "push to all $N, 1 worker: p99 (ms)" "$(ms "$(j push1 push_all_p99_us)")"
printf "%-52s %14s\n" "push to all $N, 2 workers: p50 (ms)" "$(ms "$(j push2 push_all_p50_us)")"
printf "%-52s %14s\n" "push to all $N, 2 workers: p99 (ms)" "$(ms "$(j push2 push_all_p99_us)")"
echo "load generator on the same $(nproc)-core machine over loopback; $ECHOS echoes with 100 in flight; $PUSHES pushes"
cat > "$TOP/bench/results/ws.json" <<JSON
{"bench":"ws","date":"$(date -u +%FT%TZ)","cores":$(nproc),
 "idle":{"target":$IDLE,"held":$held,"worker_rss_kib_per_conn":$PER_CONN,"kernel_tcp_kib_per_conn_both_ends":$KERNEL,
         "connect_seconds":$(j idle connect_seconds),"healthz_ms_while_held":$HEALTH_MS},
 "echo":{"connections":$N,"round_trips":$(j echo echo_round_trips),"p50_us":$(j echo rtt_p50_us),"p99_us":$(j echo rtt_p99_us),"max_us":$(j echo rtt_max_us)},
 "push_1_worker":{"connections":$N,"rounds":$(j push1 push_rounds),"p50_us":$(j push1 push_all_p50_us),"p99_us":$(j push1 push_all_p99_us)},
 "push_2_workers":{"connections":$N,"rounds":$(j push2 push_rounds),"p50_us":$(j push2 push_all_p50_us),"p99_us":$(j push2 push_all_p99_us)}}
JSON
