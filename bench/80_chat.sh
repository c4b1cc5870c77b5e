#!/usr/bin/env bash
# Chat (issue 11): delivery latency from send to receipt across two rentezyd
# processes (the tenant of each pair on A, the landlord on B) with many
# connected users chatting in pairs, and sustained messages per second per
# process.  The load generator (tests/tools/chat_load) runs on the same
# machine; conversations are created directly in chat.conversations.
#   BENCH_CHAT_PAIRS=5000 (10,000 users)  BENCH_CHAT_RATE=0.2 (messages/s/user: 2,000/s in all)
#   BENCH_CHAT_TPUT_PAIRS=500  BENCH_CHAT_WINDOW=8  BENCH_SECONDS=10
#   BENCH_CHAT_POOL=N sets [database] pool_size (default: the host's, 4)
. "$(dirname "$0")/lib.sh"

PAIRS=${BENCH_CHAT_PAIRS:-5000}
RATE=${BENCH_CHAT_RATE:-0.2}
TPAIRS=${BENCH_CHAT_TPUT_PAIRS:-500}
WINDOW=${BENCH_CHAT_WINDOW:-8}
SECS=${BENCH_SECONDS:-10}
LOAD="$TOP/$BUILD/tests/tools/chat_load"
SRC=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4
[ -x "$LOAD" ] || { echo "missing $LOAD (make $BUILD/tests/tools/chat_load)"; exit 1; }
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((2 * PAIRS + 1024)) ]; then
    PAIRS=$(( ($(ulimit -n) - 1024) / 2 ))
    echo "note: the file descriptor limit allows only $((2 * PAIRS)) users"
fi
sql() { psql "$PGURL" -XAtq -c "$1"; }

export PLUGINS="chat"
declare -a PORTS DPIDS
for i in 1 2; do
    PORT=$(free_port); BASE="http://127.0.0.1:$PORT"; PORTS[$i]=$PORT
    LOG_LEVEL=warn rz_conf "$T/c$i" "[host]" "access_log = false" "[websocket]" "test_tokens = true" \
        "[plugin.chat]" "rate = 100000" "burst = 100000" ${BENCH_CHAT_POOL:+"[database]" "pool_size = $BENCH_CHAT_POOL"}
    rz_start "$T/c$i" || exit 1
    DPIDS[$i]=$RZ_PID
done
A="127.0.0.1:${PORTS[1]}"; B="127.0.0.1:${PORTS[2]}"

# conversation k between "bt<k>" and "bl<k>", ids in order k = 0..n-1
TAG="bench-$$-$RANDOM"
convs() { # N FILE
    sql "WITH ins AS (INSERT INTO chat.conversations (property_id, tenant_id, landlord_id)
         SELECT md5('$TAG-' || k)::uuid, 'bt' || k, 'bl' || k FROM generate_series(0, $1 - 1) k
         RETURNING id, tenant_id) SELECT id FROM ins ORDER BY substr(tenant_id, 3)::int" >"$2"
}
N=$((PAIRS > TPAIRS ? PAIRS : TPAIRS))
convs "$N" "$T/convs"

"$LOAD" -m latency -c "$PAIRS" -R "$RATE" -d "$SECS" -f "$T/convs" -s "$SRC" "$A" "$B" \
    >"$T/lat.json" 2>"$T/lat.err" || { echo "latency run reported problems:"; tail -n 5 "$T/lat.err"; }
"$LOAD" -m throughput -c "$TPAIRS" -w "$WINDOW" -d "$SECS" -f "$T/convs" -s "$SRC" "$A" "$B" \
    >"$T/tput.json" 2>"$T/tput.err" || { echo "throughput run reported problems:"; tail -n 5 "$T/tput.err"; }
grep -h '"level":"error"' "$T/daemon.log" | sort | uniq -c | sort -rn | head -n 3
for i in 1 2; do kill -TERM "${DPIDS[$i]}"; done
for i in 1 2; do wait "${DPIDS[$i]}" 2>/dev/null; done
# the bench's data goes: its conversations, messages and chat-events
sql "WITH c AS (DELETE FROM chat.conversations WHERE property_id IN
     (SELECT md5('$TAG-' || k)::uuid FROM generate_series(0, $N - 1) k) RETURNING id::text),
     o AS (DELETE FROM rentezy.outbox WHERE topic = 'chat-events' AND subject IN (SELECT id FROM c))
     DELETE FROM rentezy.outbox_heads WHERE topic = 'chat-events' AND subject IN (SELECT id FROM c)" >/dev/null

j() { sed -n "s/.*\"$2\":\([0-9.-]*\).*/\1/p" "$T/$1.json"; }
ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
printf "%-60s %14s\n" "measure" "value"
printf "%-60s %14s\n" "users connected (half on each process)" "$(j lat open_at_end) / $((2 * PAIRS))"
printf "%-60s %14s\n" "  messages sent at $RATE/s per user for ${SECS}s, delivered" "$(j lat sent) / $(j lat delivered)"
printf "%-60s %14s\n" "  delivery latency across processes p50 (ms)" "$(ms "$(j lat delivery_p50_us)")"
printf "%-60s %14s\n" "  delivery latency across processes p99 (ms)" "$(ms "$(j lat delivery_p99_us)")"
printf "%-60s %14s\n" "  ack latency p50 (ms)" "$(ms "$(j lat ack_p50_us)")"
printf "%-60s %14s\n" "  ack latency p99 (ms)" "$(ms "$(j lat ack_p99_us)")"
printf "%-60s %14s\n" "sustained: $((2 * TPAIRS)) users, $WINDOW sends in flight each" ""
printf "%-60s %14s\n" "  messages/s stored and acknowledged by process A" "$(j tput acks_per_s_a)"
printf "%-60s %14s\n" "  messages/s stored and acknowledged by process B" "$(j tput acks_per_s_b)"
printf "%-60s %14s\n" "  delivery latency under that load p50 (ms)" "$(ms "$(j tput delivery_p50_us)")"
printf "%-60s %14s\n" "  delivery latency under that load p99 (ms)" "$(ms "$(j tput delivery_p99_us)")"
echo "one worker per process, $(nproc) cores shared by both daemons, PostgreSQL and the load generator; loopback"
cat > "$TOP/bench/results/chat.json" <<JSON
{"bench":"chat","date":"$(date -u +%FT%TZ)","cores":$(nproc),"workers_per_process":1,"loadavg":"$(cut -d" " -f1-3 /proc/loadavg)",
 "latency":$(cat "$T/lat.json"),
 "throughput":$(cat "$T/tput.json"),
 "rate_per_user":$RATE,"window":$WINDOW,"seconds":$SECS}
JSON
