#!/usr/bin/env bash
# Data layer (issue 3), with the test plugin dbprobe on a fresh database:
#  - GET /v1/dbprobe/items/{id}: one indexed SELECT through the pool (random
#    ids over 100,000 rows, read-only flag), beside GET /healthz of the same
#    daemon, workers = 1, wrk -t1 -c64; median of interleaved rounds.
#    Target: >= 20,000 req/s for the SELECT route.
#  - Job throughput, workers = 2, [jobs] defaults: JOBS (50,000) trivial jobs
#    enqueued by one INSERT ... SELECT generate_series through the route,
#    timed from the request to the last one done.  Target: >= 5,000 jobs/s.
#    Also reported: jobs whose handler does two database round trips (count).
. "$(dirname "$0")/lib.sh"

PLUG="$TPLUGDIR/dbprobe.so"
# `make bench` does not build the test plugins: build this one if missing.
[ -f "$PLUG" ] || [ "$BUILD" != build ] || make -s -C "$TOP" "build/tests/plugins/dbprobe.so" >/dev/null
[ -f "$PLUG" ] || { echo "missing $PLUG (make $BUILD/tests/plugins/dbprobe.so)"; exit 1; }
ADMIN_URL=$PGURL
DB=rz_b_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
psql "$ADMIN_URL" -XqAt -c "CREATE DATABASE $DB" >/dev/null || { echo "cannot create $DB"; exit 1; }
PGURL=$(printf '%s' "$ADMIN_URL" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$DB#")
drop_db() { psql "$ADMIN_URL" -XqAt -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1; }
trap 'cleanup; drop_db' EXIT
sql() { psql "$PGURL" -XqAt -c "$1"; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
ROUNDS=${BENCH_ROUNDS:-3}
JOBS=${BENCH_JOBS:-50000}
CJOBS=${BENCH_COUNT_JOBS:-20000}

# ---- the SELECT route beside /healthz, one worker --------------------------
cat > "$T/items.lua" <<'LUA'
math.randomseed(os.time())
request = function()
    return wrk.format("GET", "/v1/dbprobe/items/" .. math.random(1, 100000))
end
LUA
WORKERS=1 LOG_LEVEL=warn PLUGINS=$PLUG rz_conf "$T/c1" "[plugin.dbprobe]" "schedule_cron = "
rz_start "$T/c1" || exit 1
wait_http "$BASE/readyz" 100 || { echo "not ready"; exit 1; }
WPID=$(pgrep -P "$RZ_PID" | head -1)
[ "$(curl -s "$BASE/v1/dbprobe/items/4242")" = '{"id":4242,"name":"item 4242"}' ] || { echo "items route broken"; exit 1; }
wrk -t1 -c64 -d1s -s "$T/items.lua" "$BASE" >/dev/null 2>&1 # warm the prepared statements and caches
: > "$T/it.txt"; : > "$T/hz.txt"
for _ in $(seq 1 "$ROUNDS"); do
    wrk_run "$BASE" -s "$T/items.lua"; echo "$RPS $P50 $P99 ${NON2XX:-0}" >> "$T/it.txt"
    wrk_run "$BASE/healthz"; echo "$RPS $P50 $P99 ${NON2XX:-0}" >> "$T/hz.txt"
done
median() { sort -n "$1" | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)'; }
read -r IT_RPS IT_P50 IT_P99 IT_NON2XX < <(median "$T/it.txt")
read -r HZ_RPS HZ_P50 HZ_P99 HZ_NON2XX < <(median "$T/hz.txt")
RSS=$(rss_kb "$WPID")
curl -s "$BASE/metrics" | grep -E '^rentezy_db_(errors_total|query_duration_seconds_(sum|count))' > "$T/dbm.txt"
DB_ERRS=$(awk '/^rentezy_db_errors_total/ {s += $2} END {print s + 0}' "$T/dbm.txt")
DB_AVG_MS=$(awk '/_sum/ {s = $2} /_count/ {c = $2} END {printf "%.3f", (c ? s / c * 1000 : 0)}' "$T/dbm.txt")
rz_stop TERM

# ---- job throughput, two workers ---------------------------------------------
# jobs_run KIND N -> sets J_ENQ_MS (request), J_TOTAL_MS (request to all done)
jobs_run() {
    local kind=$1 n=$2 t0 t1 code left
    t0=$(ms_now)
    code=$(curl -s -o "$T/enq.json" -w '%{http_code}' -X POST "$BASE/v1/dbprobe/jobs?n=$n&kind=$kind")
    t1=$(ms_now)
    [ "$code" = 201 ] || { echo "enqueue failed: $code $(cat "$T/enq.json")"; exit 1; }
    while :; do
        # Cheap (the partial indexes on due and running jobs), so that
        # watching does not slow down what it measures.
        left=$(sql "SELECT count(*) FROM rentezy.jobs WHERE state IN ('due', 'running')")
        [ "$left" = 0 ] && break
        [ $(( $(ms_now) - t0 )) -lt 300000 ] || { echo "jobs did not finish: $left left"; exit 1; }
        sleep 0.05
    done
    J_ENQ_MS=$((t1 - t0))
    J_TOTAL_MS=$(( $(ms_now) - t0 ))
    local done_n; done_n=$(sql "SELECT count(*) FROM rentezy.jobs WHERE state = 'done' AND kind = '$kind'")
    [ "$done_n" = "$n" ] || { echo "$kind: $done_n of $n done"; exit 1; }
}
rate() { awk -v n="$1" -v ms="$2" 'BEGIN {printf "%.0f", (ms > 0 ? n * 1000 / ms : 0)}'; }
WORKERS=2 LOG_LEVEL=warn PLUGINS=$PLUG rz_conf "$T/c2" "[plugin.dbprobe]" "schedule_cron = "
rz_start "$T/c2" || exit 1
wait_http "$BASE/readyz" 100 || { echo "not ready"; exit 1; }
jobs_run noop "$JOBS"
NOOP_ENQ=$J_ENQ_MS; NOOP_MS=$J_TOTAL_MS; NOOP_RATE=$(rate "$JOBS" "$NOOP_MS")
jobs_run count "$CJOBS"
CNT_ENQ=$J_ENQ_MS; CNT_MS=$J_TOTAL_MS; CNT_RATE=$(rate "$CJOBS" "$CNT_MS")
TWICE=$(sql 'SELECT count(*) FROM dbprobe.twice')
RUNS=$(sql 'SELECT count(DISTINCT n) FROM dbprobe.runs')
rz_stop TERM

verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v >= t ? "ok" : "BELOW")}'; }
printf "%-40s %10s %9s %9s %8s\n" "target (workers = 1, wrk -t1 -c64)" "req/s" "p50 ms" "p99 ms" "goal"
printf "%-40s %10s %9s %9s %8s\n" "GET /v1/dbprobe/items/{id} (SELECT)" "$IT_RPS" "$IT_P50" "$IT_P99" "$(verdict "$IT_RPS" 20000)"
printf "%-40s %10s %9s %9s %8s\n" "GET /healthz (same daemon, same run)" "$HZ_RPS" "$HZ_P50" "$HZ_P99" ""
echo "median of $ROUNDS interleaved rounds of ${DURATION}s; non-2xx: items ${IT_NON2XX:-0}, healthz ${HZ_NON2XX:-0};" \
     "pool errors ${DB_ERRS}; mean query ${DB_AVG_MS} ms; worker RSS ${RSS} KiB"
echo
printf "%-40s %10s %10s %12s %8s\n" "jobs (workers = 2, [jobs] defaults)" "jobs" "enqueue ms" "jobs/s" "goal"
printf "%-40s %10s %10s %12s %8s\n" "noop: trivial, done at once" "$JOBS" "$NOOP_ENQ" "$NOOP_RATE" "$(verdict "$NOOP_RATE" 5000)"
printf "%-40s %10s %10s %12s %8s\n" "count: two DB round trips per job" "$CJOBS" "$CNT_ENQ" "$CNT_RATE" ""
echo "jobs/s = jobs / (enqueue request .. last job done), the wait for the first poll included;" \
     "count: ${RUNS} distinct runs, ${TWICE} concurrent doubles"
cat > "$TOP/bench/results/data.json" <<JSON
{"bench":"data","date":"$(date -u +%FT%TZ)","wrk":"-t1 -c64 -d${DURATION}s","rounds":$ROUNDS,
 "select":{"workers":1,"rps":$IT_RPS,"p50_ms":$IT_P50,"p99_ms":$IT_P99,"non2xx":${IT_NON2XX:-0},"target_rps":20000,
  "pool_errors":$DB_ERRS,"mean_query_ms":$DB_AVG_MS},
 "healthz":{"workers":1,"rps":$HZ_RPS,"p50_ms":$HZ_P50,"p99_ms":$HZ_P99},
 "worker_rss_kib":$RSS,
 "jobs_noop":{"workers":2,"jobs":$JOBS,"enqueue_ms":$NOOP_ENQ,"total_ms":$NOOP_MS,"jobs_per_s":$NOOP_RATE,"target_jobs_per_s":5000},
 "jobs_count":{"workers":2,"jobs":$CJOBS,"enqueue_ms":$CNT_ENQ,"total_ms":$CNT_MS,"jobs_per_s":$CNT_RATE,
  "distinct_runs":$RUNS,"concurrent_doubles":$TWICE}}
JSON
