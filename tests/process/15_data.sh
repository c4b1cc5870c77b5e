#!/usr/bin/env bash
# The data layer through real rentezyd processes and the private PostgreSQL
# (issue 3), with the test plugin dbprobe (tests/plugins/dbprobe.c):
#   1. four daemons started at the same instant on an empty database apply
#      each migration once; a changed migration refuses the start;
#      `migrate --status` and `migrate`
#   3. wrong SQL parameter types give error results, never a crash (run
#      before 2, in the same daemon)
#   2. PostgreSQL restarted under load: no request hangs, /readyz follows,
#      the same workers recover
#   4. 10,000 jobs through two daemons of two workers each; retries and dead
#      jobs; `jobs list --dead`; a daily schedule over a simulated week
# Each run uses a fresh database (rz_t_<random>), dropped at the end.
. "$(dirname "$0")/../lib.sh"

PLUG="$TPLUGDIR/dbprobe.so"
[ -f "$PLUG" ] || { echo "missing $PLUG (make $BUILD/tests/plugins/dbprobe.so)"; exit 1; }
ADMIN_URL=$PGURL
DB=rz_t_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
psql "$ADMIN_URL" -XqAt -c "CREATE DATABASE $DB" >/dev/null || { echo "cannot create $DB"; exit 1; }
# The same server and options, another database (URL path replaced).
PGURL=$(printf '%s' "$ADMIN_URL" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$DB#")
drop_db() { psql "$ADMIN_URL" -XqAt -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1; }
trap 'cleanup; drop_db' EXIT
sql() { psql "$PGURL" -XqAt -c "$1"; }
t_start=$(date +%s)

# conf NAME PORT [lines...]: a daemon config for dbprobe on PORT
conf() {
    local name=$1 port=$2; shift 2
    PORT=$port PLUGINS=$PLUG LOG_LEVEL=${LOG_LEVEL:-info} rz_conf "$T/$name" "$@"
}
# wait_until SECONDS CMD...: poll CMD every 0.05 s
wait_until() {
    local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(( $(date +%s%N) / 1000000 ))" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}
sql_is() { [ "$(sql "$1")" = "$2" ]; }
workers_of() { pgrep -P "$1" | sort | tr '\n' ' '; }
alive() { kill -0 "$1" 2>/dev/null; }

# ==== 1. migrations: four daemons at the same instant on an empty database ====
declare -a MP MPID
for i in 1 2 3 4; do
    MP[i]=$(free_port)
    WORKERS=1 conf "m$i" "${MP[i]}"
done
for i in 1 2 3 4; do
    ( while [ ! -e "$T/go" ]; do sleep 0.005; done; exec "$RZD" -c "$T/m$i" >"$T/m$i.log" 2>&1 ) &
    MPID[i]=$!
    DAEMON_PIDS="$DAEMON_PIDS ${MPID[i]}"
done
sleep 0.3
touch "$T/go"
up=0
for i in 1 2 3 4; do wait_http "http://127.0.0.1:${MP[i]}/healthz" 150 && up=$((up + 1)); done
expect_eq "four daemons started at once all come up" "$up" 4
n_alive=0
for i in 1 2 3 4; do alive "${MPID[i]}" && n_alive=$((n_alive + 1)); done
expect_eq "none of the four exited" "$n_alive" 4
cat "$T"/m[1-4].log > "$T/m-all.log"
check "no daemon logged an error" sh -c "! grep -E '\"level\":\"error\"|^rentezyd: |migration .* failed' '$T/m-all.log'"
applied_lines=$(grep -c '^migrate: applied ' "$T/m-all.log")
expect_eq "each migration is applied by exactly one daemon (no duplicate log line)" \
    "$(grep '^migrate: applied ' "$T/m-all.log" | sort | uniq -d | wc -l)" 0
expect_eq "as many applications as rows in rentezy.migrations" \
    "$applied_lines" "$(sql 'SELECT count(*) FROM rentezy.migrations')"
check "dbprobe 1 (items) was applied, by one daemon" \
    sh -c "[ \$(grep -c '^migrate: applied dbprobe 1 items\$' '$T/m-all.log') = 1 ]"
check "the host's migrations 1-3 are recorded" \
    sql_is "SELECT count(*) FROM rentezy.migrations WHERE plugin = 'host' AND version IN (1,2,3)" 3
expect_eq "items holds 100,000 rows" "$(sql 'SELECT count(*) FROM dbprobe.items')" 100000
ok=0
for i in 1 2 3 4; do
    [ "$(curl -s --max-time 5 "http://127.0.0.1:${MP[i]}/v1/dbprobe/items/$((i * 1000))")" = \
        "{\"id\":$((i * 1000)),\"name\":\"item $((i * 1000))\"}" ] && ok=$((ok + 1))
done
expect_eq "all four serve the SELECT route" "$ok" 4
check "openapi.json documents the dbprobe routes" sh -c "curl -s 'http://127.0.0.1:${MP[1]}/openapi.json' | jq -e '.paths[\"/v1/dbprobe/items/{id}\"].get and .paths[\"/v1/dbprobe/badparam\"].post and .paths[\"/v1/dbprobe/jobs\"].post'"
for i in 1 2 3 4; do kill -TERM "${MPID[i]}" 2>/dev/null; done
st=0
for i in 1 2 3 4; do wait "${MPID[i]}" 2>/dev/null || st=$?; done
expect_eq "the four exit 0 on SIGTERM" "$st" 0

# A recorded migration whose checksum changed stops the start.
ORIG=$(sql "SELECT checksum FROM rentezy.migrations WHERE plugin = 'dbprobe' AND version = 1")
sql "UPDATE rentezy.migrations SET checksum = 'x' WHERE plugin = 'dbprobe' AND version = 1"
P5=$(free_port)
WORKERS=1 conf m5 "$P5"
timeout 30 "$RZD" -c "$T/m5" >"$T/m5.log" 2>&1
rc=$?
check "a changed migration refuses the start (non-zero exit, not a timeout)" \
    sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
check "the refusal names plugin and version" grep -q 'migration dbprobe 1 (items) changed since it was applied' "$T/m5.log"
expect_eq "nothing serves after the refusal" "$(status GET "http://127.0.0.1:$P5/healthz" --max-time 1)" 000
"$RZD" -c "$T/m5" migrate --status >"$T/st0.out" 2>&1
expect_eq "migrate --status exits 1 when a migration changed" "$?" 1
check "migrate --status marks it CHANGED" grep -qE '^dbprobe +1 +items +CHANGED' "$T/st0.out"

# Restore it; a build with migration 2 shows it pending, `migrate` applies it.
sql "UPDATE rentezy.migrations SET checksum = '$ORIG' WHERE plugin = 'dbprobe' AND version = 1"
P6=$(free_port)
WORKERS=1 conf m6 "$P6" "[plugin.dbprobe]" "migrations = 2"
"$RZD" -c "$T/m6" migrate --status >"$T/st1.out" 2>&1
expect_eq "migrate --status exits 0" "$?" 0
check "--status lists applied migrations" grep -qE '^dbprobe +1 +items +applied ' "$T/st1.out"
check "--status lists the host's too" grep -qE '^host +2 +jobs +applied ' "$T/st1.out"
check "--status lists a pending migration" grep -qE '^dbprobe +2 +extra +pending$' "$T/st1.out"
timeout 30 "$RZD" -c "$T/m6" migrate >"$T/mig.out" 2>&1
expect_eq "migrate exits 0" "$?" 0
check "migrate applied dbprobe 2 and nothing else" \
    sh -c "grep '^migrate: applied' '$T/mig.out' | grep -qx 'migrate: applied dbprobe 2 extra' && [ \$(grep -c '^migrate: applied' '$T/mig.out') = 1 ]"
check "migrate did not serve" sh -c "! grep -q 'serving' '$T/mig.out'"
expect_eq "nothing listens after migrate" "$(status GET "http://127.0.0.1:$P6/healthz" --max-time 1)" 000
check "migration 2 took effect" sql_is "SELECT to_regclass('dbprobe.items_name') IS NOT NULL" t
"$RZD" -c "$T/m6" migrate --status >"$T/st2.out" 2>&1
check "afterwards nothing is pending" sh -c "grep -qE '^dbprobe +2 +extra +applied ' '$T/st2.out' && ! grep -q pending '$T/st2.out'"

# ==== 3. bad input: wrong SQL parameter types give error results ============
WORKERS=2 conf main "$PORT"
rz_start "$T/main" || exit 1
MAIN_PID=$RZ_PID
WPIDS=$(workers_of "$MAIN_PID")
expect_eq "two workers" "$(echo "$WPIDS" | wc -w)" 2
wait_until 5 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$BASE/readyz')\" = 200 ]"
for c in "type 22P02" "overflow 22003" "count 08P01" "utf8 22021" "syntax 42601" "tx 22P02"; do
    set -- $c
    expect_eq "badparam $1 answers 422" "$(status POST "$BASE/v1/dbprobe/badparam?case=$1")" 422
    check "badparam $1 is a JSON error with SQLSTATE $2" \
        jq -e --arg s "$2" '.error.code == "db_error" and .error.sqlstate == $s and (.error.message | length > 0)' "$T/body"
done
expect_eq "a call the host refuses (nparams -1) answers 400" "$(status POST "$BASE/v1/dbprobe/badparam?case=einval")" 400
expect_eq "a failed transaction kept nothing" "$(sql 'SELECT count(*) FROM dbprobe.items WHERE id = -1')" 0
expect_eq "a non-numeric id is refused before SQL" "$(status GET "$BASE/v1/dbprobe/items/abc")" 400
expect_eq "an unknown id is 404" "$(status GET "$BASE/v1/dbprobe/items/100001")" 404
# Bad and good statements mixed, concurrently, on the same pooled connections.
for i in $(seq 1 120); do
    case $((i % 4)) in
    0) echo "GET /v1/dbprobe/items/$i 200" ;;
    1) echo "POST /v1/dbprobe/badparam?case=type 422" ;;
    2) echo "POST /v1/dbprobe/badparam?case=count 422" ;;
    3) echo "POST /v1/dbprobe/badparam?case=utf8 422" ;;
    esac
done > "$T/mix.txt"
xargs -P 8 -L 1 sh -c 'c=$(curl -s -o /dev/null -w "%{http_code}" --max-time 5 -X "$0" "'"$BASE"'$1"); [ "$c" = "$2" ] || echo "$0 $1 -> $c"' < "$T/mix.txt" > "$T/mix.out" 2>&1
check "120 mixed good and bad statements, 8 at a time, all answered as expected" sh -c "[ ! -s '$T/mix.out' ]"
expect_eq "the pool still serves afterwards" "$(curl -s "$BASE/v1/dbprobe/items/99")" '{"id":99,"name":"item 99"}'
expect_eq "no worker crashed (same pids)" "$(workers_of "$MAIN_PID")" "$WPIDS"
expect_eq "healthz still answers" "$(status GET "$BASE/healthz")" 200
check "no worker was restarted" sh -c "! grep -q 'killed by signal' '$T/daemon.log'"

# ==== 2. PostgreSQL restarted under load =====================================
cat > "$T/items.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {}; notjson = 0; math.randomseed(os.time()) end
function request() return wrk.format("GET", "/v1/dbprobe/items/" .. math.random(1, 100000)) end
function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
    if body:sub(1, 1) ~= "{" then notjson = notjson + 1 end
end
function done(summary, latency, requests)
    for _, t in ipairs(threads) do
        for k, v in pairs(t:get("counts")) do io.write(string.format("status %d %d\n", k, v)) end
        io.write(string.format("notjson %d\n", t:get("notjson")))
    end
    io.write(string.format("timeouts %d\n", summary.errors.timeout))
    io.write(string.format("connect_errors %d\n", summary.errors.connect))
end
LUA
wrk -t1 -c16 -d7s --timeout 5s -s "$T/items.lua" "$BASE" > "$T/wrk.out" 2>&1 &
WRK=$!
curl_loop() { # OUT: curl --max-time 5 in a loop for ~7 s; lines "code seconds json|text"
    local end=$(( $(date +%s) + 7 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        local r; r=$(curl -s -o "$1.body" -w '%{http_code} %{time_total}' --max-time 5 \
            "$BASE/v1/dbprobe/items/$((RANDOM % 100000 + 1))")
        if jq -e 'type == "object"' "$1.body" >/dev/null 2>&1; then echo "$r json"; else echo "$r text"; fi
    done > "$1"
}
curl_loop "$T/loop1" & L1=$!
curl_loop "$T/loop2" & L2=$!
sleep 1.5
"$TOP/scripts/pg.sh" stop
down_at=$(date +%s%N)
: > "$T/readyz-down.txt"
while [ $(( ($(date +%s%N) - down_at) / 1000000 )) -lt 2000 ]; do
    c=$(status GET "$BASE/readyz" --max-time 5)
    echo "$c$(jq -c . "$T/body" 2>/dev/null || echo notjson)" >> "$T/readyz-down.txt"
    sleep 0.2
done
"$TOP/scripts/pg.sh" start >/dev/null
up_at=$(date +%s%N)
wait_until 15 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 '$BASE/readyz')\" = 200 ]"
ready_ms=$(( ($(date +%s%N) - up_at) / 1000000 ))
# Both workers ready: 20 readyz in a row answer 200.
wait_until 15 sh -c "for i in \$(seq 1 20); do [ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 '$BASE/readyz')\" = 200 ] || exit 1; done"
all_ready_ms=$(( ($(date +%s%N) - up_at) / 1000000 ))
wait "$WRK" "$L1" "$L2"
echo "     (outage $(( (up_at - down_at) / 1000000 )) ms; ready again after ${ready_ms} ms, both workers after ${all_ready_ms} ms)"
check "readyz answered 503 while PostgreSQL was down" grep -q '^503{"status":"unready","reason":"database unreachable"}' "$T/readyz-down.txt"
check "every readyz while down answered 200 or 503" sh -c "! grep -vE '^(200|503)\{' '$T/readyz-down.txt'"
check "wrk: no request timed out (5 s)" grep -qx 'timeouts 0' "$T/wrk.out"
check "wrk: only 200 and 503 answers" sh -c "! grep '^status ' '$T/wrk.out' | grep -vE '^status (200|503) '"
check "wrk: the outage was seen (some 503s)" grep -q '^status 503 ' "$T/wrk.out"
check "wrk: every answer is JSON" grep -qx 'notjson 0' "$T/wrk.out"
cat "$T/loop1" "$T/loop2" > "$T/loops"
check "curl loops ran" sh -c "[ \$(wc -l < '$T/loops') -gt 20 ]"
check "curl loops: every request completed with 200 or 503 JSON" sh -c "! grep -vE '^(200|503) [0-9.]+ json$' '$T/loops'"
check "curl loops: none took 5 s" awk '$2 >= 5 { bad = 1 } END { exit bad }' "$T/loops"
expect_eq "the daemon recovered without a restart (same worker pids)" "$(workers_of "$MAIN_PID")" "$WPIDS"
check "no worker was restarted" sh -c "! grep -q 'killed by signal' '$T/daemon.log'"
ok=0
for i in $(seq 1 20); do
    [ "$(status GET "$BASE/v1/dbprobe/items/$((i * 37))" --max-time 5)" = 200 ] && ok=$((ok + 1))
done
expect_eq "the route answers 200 afterwards (20 of 20)" "$ok" 20
grep -h '^status\|^timeouts' "$T/wrk.out" | tr '\n' ' ' | sed 's/^/     (wrk: /; s/ $/)\n/'
rz_stop TERM
expect_eq "the daemon exits 0" "$RZ_STATUS" 0

# ==== 4. jobs end to end: two daemons of two workers each ====================
JOBS_CONF=("[jobs]" "poll_interval = 100ms" "backoff_base = 100ms" "backoff_max = 400ms" "max_attempts = 3")
PA=$(free_port); PB=$(free_port)
WORKERS=2 conf ja "$PA" "${JOBS_CONF[@]}"
WORKERS=2 conf jb "$PB" "${JOBS_CONF[@]}"
PORT=$PA BASE="http://127.0.0.1:$PA" rz_start "$T/ja" || exit 1
A_PID=$RZ_PID
PORT=$PB BASE="http://127.0.0.1:$PB" rz_start "$T/jb" || exit 1
B_PID=$RZ_PID
A_W=$(workers_of "$A_PID"); B_W=$(workers_of "$B_PID")
t0=$(date +%s%N)
code=$(status POST "http://127.0.0.1:$PA/v1/dbprobe/jobs?n=10000&kind=count&start=0")
expect_eq "10,000 jobs enqueued in one request" "$code $(jq -c . "$T/body")" '201 {"enqueued":10000}'
check "all 10,000 complete" wait_until 60 sql_is \
    "SELECT count(*) FROM rentezy.jobs WHERE state IN ('due', 'running') AND kind = 'count'" 0
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "every job ran" "$(sql 'SELECT count(DISTINCT n) FROM dbprobe.runs')" 10000
expect_eq "none ran twice (no failures, so exactly once)" "$(sql 'SELECT count(*) FROM dbprobe.runs')" 10000
expect_eq "none ran twice at the same time" "$(sql 'SELECT count(*) FROM dbprobe.twice')" 0
expect_eq "no job left marked active" "$(sql 'SELECT count(*) FROM dbprobe.active')" 0
sql "SELECT pid, count(*) FROM dbprobe.runs GROUP BY pid ORDER BY pid" > "$T/bypid"
by_a=0; by_b=0
while IFS='|' read -r pid n; do
    case " $A_W" in *" $pid "*) by_a=$((by_a + n)) ;; esac
    case " $B_W" in *" $pid "*) by_b=$((by_b + n)) ;; esac
done < "$T/bypid"
echo "     (10,000 jobs in ${ms} ms; by worker: $(tr '\n' ' ' < "$T/bypid"); daemon A ${by_a}, daemon B ${by_b})"
expect_eq "every run came from one of the four workers" "$((by_a + by_b))" 10000
check "both daemons claimed jobs" sh -c "[ $by_a -gt 0 ] && [ $by_b -gt 0 ]"

# Retries and dead jobs, as configured (max_attempts = 3).
for k in "flaky 3" "doomed 2" "fatal 1"; do
    set -- $k
    expect_eq "enqueue $2 $1" "$(status POST "http://127.0.0.1:$PB/v1/dbprobe/jobs?n=$2&kind=$1")" 201
done
check "flaky, doomed and fatal jobs settle" wait_until 30 sql_is \
    "SELECT count(*) FROM rentezy.jobs WHERE kind IN ('flaky','doomed','fatal') AND state IN ('due','running')" 0
expect_eq "flaky: done on the 3rd attempt" \
    "$(sql "SELECT string_agg(state || ':' || attempts, ',') FROM rentezy.jobs WHERE kind = 'flaky'")" \
    "done:3,done:3,done:3"
expect_eq "doomed: dead after max_attempts (3), with its error" \
    "$(sql "SELECT string_agg(state || ':' || attempts || ':' || last_error, ',') FROM rentezy.jobs WHERE kind = 'doomed'")" \
    "dead:3:doomed: always fails,dead:3:doomed: always fails"
expect_eq "fatal: dead after one attempt" \
    "$(sql "SELECT state || ':' || attempts || ':' || last_error FROM rentezy.jobs WHERE kind = 'fatal'")" \
    "dead:1:fatal: retrying cannot help"
"$RZD" -c "$T/ja" jobs list --dead > "$T/dead.out" 2>"$T/dead.err"
expect_eq "jobs list --dead exits 0" "$?" 0
check "jobs list --dead shows the three dead jobs and nothing else" \
    sh -c "cat '$T/dead.out'; [ \$(grep -c ' dead ' '$T/dead.out') = 3 ] && [ \$(grep -c ' doomed ' '$T/dead.out') = 2 ] && [ \$(grep -c ' fatal ' '$T/dead.out') = 1 ] && [ \$(wc -l < '$T/dead.out') = 4 ]"
check "jobs list --dead shows the last error" grep -q 'fatal: retrying cannot help' "$T/dead.out"
FATAL_ID=$(sql "SELECT id FROM rentezy.jobs WHERE kind = 'fatal'")
"$RZD" -c "$T/ja" jobs retry "$FATAL_ID" > "$T/retry.out" 2>&1
expect_eq "jobs retry ID exits 0" "$?" 0
check "the retried job runs again and dies again (attempts start over)" wait_until 10 sql_is \
    "SELECT state || ':' || attempts FROM rentezy.jobs WHERE id = $FATAL_ID" "dead:1"
check "the retried job ran again (two 'dead after 1 attempts' lines)" \
    wait_until 5 sh -c "[ \$(grep -c 'job $FATAL_ID (fatal) is dead after 1 attempts' '$T/daemon.log') = 2 ]"
check "metrics show job counters" sh -c "curl -s 'http://127.0.0.1:$PA/metrics' | grep -E '^rentezy_jobs_worker_total\{worker=\"[0-9]\",event=\"completed\"\} [1-9]'"
check "metrics show pool figures" sh -c "curl -s 'http://127.0.0.1:$PA/metrics' | grep -q '^rentezy_db_query_duration_seconds_count'"
PORT=$PA; RZ_PID=$A_PID; rz_stop TERM
PORT=$PB; RZ_PID=$B_PID; rz_stop TERM

# A daily schedule (09:00 Europe/Berlin) over a simulated week.
PORT=$PA BASE="http://127.0.0.1:$PA" rz_start "$T/ja" || exit 1
CB="http://127.0.0.1:$PA"
check "the schedule is stored" wait_until 5 sql_is \
    "SELECT count(*) FROM rentezy.schedules WHERE plugin = 'dbprobe' AND name = 'daily' AND tz = 'Europe/Berlin'" 1
FIRST=$(sql "SELECT (extract(epoch FROM next_run) * 1000)::bigint FROM rentezy.schedules WHERE plugin = 'dbprobe' AND name = 'daily'")
base=$(sql 'SELECT count(*) FROM dbprobe.ticks')
steps=""
ok=1
for _ in 1 2 3 4 5 6 7; do
    now=$(curl -s -X POST -d '{"advance_ms": 86400000}' "$CB/v1/_test/clock" | jq -r '.now_ms | floor')
    # 09:00 Berlin occurrences from the first one up to the host's now.
    want=$(sql "SELECT count(*) FROM generate_series(0, 40) k WHERE ((((to_timestamp($FIRST / 1000.0) AT TIME ZONE 'Europe/Berlin')::date + k) + time '09:00') AT TIME ZONE 'Europe/Berlin') <= to_timestamp($now / 1000.0)")
    if ! wait_until 10 sql_is 'SELECT count(*) FROM dbprobe.ticks' "$((base + want))"; then ok=0; fi
    steps="$steps $(( $(sql 'SELECT count(*) FROM dbprobe.ticks') - base ))/$want"
done
sleep 0.5
echo "     (ticks after each simulated day, got/want:$steps)"
expect_eq "the schedule fired once per occurrence, each day" "$ok" 1
expect_eq "seven occurrences in a week" "$(( $(sql 'SELECT count(*) FROM dbprobe.ticks') - base ))" 7
expect_eq "no occurrence ran twice" "$(sql 'SELECT count(*) - count(DISTINCT occurrence_ms) FROM dbprobe.ticks')" 0
expect_eq "every occurrence is 09:00 in Berlin" \
    "$(sql "SELECT count(*) FROM dbprobe.ticks WHERE (to_timestamp(occurrence_ms / 1000.0) AT TIME ZONE 'Europe/Berlin')::time <> '09:00'")" 0
expect_eq "on consecutive days" \
    "$(sql "SELECT max(d) - min(d) + 1 = count(*) FROM (SELECT (to_timestamp(occurrence_ms / 1000.0) AT TIME ZONE 'Europe/Berlin')::date d FROM dbprobe.ticks) s")" t
check "the payload carries the occurrence" sql_is \
    "SELECT bool_and(occurrence ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T0[78]:00:00Z$') FROM dbprobe.ticks" t
rz_stop TERM
expect_eq "the daemon exits 0" "$RZ_STATUS" 0
check "no sanitizer report in any log" sh -c "! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' '$T'/*.log '$T'/*.out"
echo "     (15_data took $(( $(date +%s) - t_start )) s)"
finish
