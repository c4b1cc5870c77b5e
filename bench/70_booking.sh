#!/usr/bin/env bash
# Booking: POST /v1/bookings through the whole stack (HTTP, JWT check,
# booking.create: read model, exclusion constraint, outbox, expiry job).
#   distinct    64 clients over 1,000 listings, nothing collides: bookings/s
#   contention  64 clients on 10 listings for 10 s, random 1-4 night stays
#               within 60 days: successes, conflicts, latency, and a SQL
#               count of overlapping stays that hold dates (must be 0)
#   sql only    booking.create called by pgbench over 16 connections (the
#               daemon's 2 workers x pool 8) on another 1,000 listings,
#               random one-night stays within 700 days: the database's own
#               ceiling, without HTTP, JWT and the load generator's sockets
# The listings are fed into booking's read model through the same SQL
# function its property-events handler calls; tokens are signed with the
# test secret (tests/tools/mkjwt).  rentezyd runs [host] workers = 2.
# Afterwards the bench deletes what it created (listings, bookings, their
# expiry jobs): tens of thousands of holds expiring 15 minutes later would
# otherwise keep the job scheduler of the next test busy.
. "$(dirname "$0")/lib.sh"

STORM="$TOP/$BUILD/tests/tools/book_storm"
MKJWT="$TOP/$BUILD/tests/tools/mkjwt"
for b in "$STORM" "$MKJWT"; do [ -x "$b" ] || { echo "missing $b"; exit 1; }; done
CLIENTS=${BENCH_CLIENTS:-64}
SECONDS_DISTINCT=${BENCH_SECONDS:-10}
SECONDS_CONTENTION=10
head -c 48 /dev/urandom | base64 -w0 > "$T/secret"
WORKERS=${BENCH_WORKERS:-2} LOG_LEVEL=warn PLUGINS="booking" rz_conf "$T/c" \
    "[auth]" "jwt_secret_file = $T/secret" "[ratelimit]" "default = off" \
    "[database]" "pool_size = ${BENCH_POOL:-8}"
rz_start "$T/c" || exit 1
sql() { psql "$PGURL" -XAtq -c "$1"; }

uuid() { cat /proc/sys/kernel/random/uuid; }
OWNER=$(uuid)
listings() { # N FILE: N published listings, instant book, in the read model
    local n=$1 out=$2
    sql "select id from (select gen_random_uuid() as id from generate_series(1, $n)) g,
         lateral booking.apply_listing(g.id, 1, jsonb_build_object('owner_id', '$OWNER', 'status', 'published',
             'nightly_price', jsonb_build_object('amount', 9000, 'currency', 'EUR'), 'max_guests', 4,
             'min_nights', 1, 'max_nights', 30, 'instant_book', true, 'cancellation_policy', 'moderate'))" > "$out"
}
listings 1000 "$T/props"
listings 10 "$T/hot"
listings 1000 "$T/sqlprops"
for _ in $(seq 1 "$CLIENTS"); do "$MKJWT" -k "$T/secret" -s "$(uuid)" -r tenant -e 3600; done > "$T/tokens"
FIRST=$(date -u -d "+30 days" +%F)

# warm-up: connections, prepared statements
"$STORM" bench "$PORT" "$T/tokens" "$T/props" "$CLIENTS" 1 distinct "$(date -u -d "+700 days" +%F)" > /dev/null
"$STORM" bench "$PORT" "$T/tokens" "$T/props" "$CLIENTS" "$SECONDS_DISTINCT" distinct "$FIRST" > "$T/distinct.json"
"$STORM" bench "$PORT" "$T/tokens" "$T/hot" "$CLIENTS" "$SECONDS_CONTENTION" contention "$FIRST" > "$T/contention.json"

PGBENCH=${PGBENCH:-$(ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -n 1)}
SQLONLY=null
if [ -x "$PGBENCH" ]; then
    { echo '\set p random(1, 1000)'; echo '\set d random(1, 700)'
      echo "SELECT o_outcome FROM booking.create(gen_random_uuid(), '$(uuid)',
            ('{$(paste -sd, "$T/sqlprops")}'::uuid[])[:p::int], current_date + :d::int,
            current_date + :d::int + 1, 1,
            (extract(epoch FROM clock_timestamp()) * 1000)::bigint, 900000, 86400000, NULL);" | tr -d '\n'
      echo; } > "$T/create.pgb"
    t0=$(date +%s%N)
    "$PGBENCH" -n -M prepared -c 16 -j 2 -T "$SECONDS_DISTINCT" -f "$T/create.pgb" "$PGURL" > "$T/pgbench.out" 2>&1
    t1=$(date +%s%N)
    SQLN=$(sql "select count(*) from booking.bookings where property_id = any('{$(paste -sd, "$T/sqlprops")}'::uuid[])")
    SQLTPS=$(awk '/^tps/ {printf "%d", $3}' "$T/pgbench.out")
    SQLLAT=$(awk '/^latency average/ {print $4}' "$T/pgbench.out")
    SQLONLY="{\"calls_per_s\":${SQLTPS:-0},\"created\":$SQLN,\"created_per_s\":$(( SQLN * 1000000000 / (t1 - t0) )),\"latency_avg_ms\":${SQLLAT:-0}}"
fi
HOT=$(paste -sd, "$T/hot" | sed "s/[^,]*/'&'/g")
DOUBLE=$(sql "select count(*) from booking.bookings a join booking.bookings b
               on a.property_id = b.property_id and a.id < b.id and a.stay && b.stay
              where a.property_id in ($HOT)
                and a.status in ('requested', 'pending_payment', 'confirmed', 'completed')
                and b.status in ('requested', 'pending_payment', 'confirmed', 'completed')")
STORED=$(sql "select count(*) from booking.bookings where property_id in ($HOT)")
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
# every listing of the bench, and only those, belongs to $OWNER
sql "delete from rentezy.jobs where plugin = 'booking' and payload->>'booking_id' in
       (select id::text from booking.bookings where landlord_id = '$OWNER');
     delete from booking.bookings where landlord_id = '$OWNER';
     delete from booking.listings where owner_id = '$OWNER'" >/dev/null

j() { jq -r ".$2" "$T/$1.json"; }
printf "%-34s %10s %10s %10s %9s %9s\n" "run" "requests/s" "created/s" "conflicts" "p50 ms" "p99 ms"
printf "%-34s %10s %10s %10s %9s %9s\n" "distinct: $CLIENTS clients, 1000 listings" \
    "$(j distinct rps)" "$(j distinct created_per_s)" "$(j distinct conflicts)" "$(j distinct p50_ms)" "$(j distinct p99_ms)"
printf "%-34s %10s %10s %10s %9s %9s\n" "contention: $CLIENTS clients, 10 listings" \
    "$(j contention rps)" "$(j contention created_per_s)" "$(j contention conflicts)" "$(j contention p50_ms)" "$(j contention p99_ms)"
if [ "$SQLONLY" != null ]; then
    printf "%-34s %10s %10s %10s %9s %9s\n" "sql only: 16 connections (pgbench)" \
        "$SQLTPS" "$(echo "$SQLONLY" | jq -r .created_per_s)" "-" "$SQLLAT" "-"
fi
echo "contention: $(j contention created) bookings created, $(j contention conflicts) refused (409), $(j contention other) other;" \
     "$STORED stored; overlapping stays holding dates (SQL): $DOUBLE"
echo "distinct: $(j distinct created) created in $(j distinct seconds) s, $(j distinct other) not 201/409; target >= 3000 bookings/s"
echo "load average at the end (1, 5, 15 min): $LOAD"
cat > "$TOP/bench/results/booking.json" <<JSON
{"bench":"booking","date":"$(date -u +%FT%TZ)","workers":${BENCH_WORKERS:-2},"clients":$CLIENTS,
 "distinct":$(cat "$T/distinct.json"),
 "contention":$(cat "$T/contention.json"),
 "contention_double_bookings":$DOUBLE,
 "sql_only":$SQLONLY,
 "load_average":"$LOAD",
 "target_bookings_per_s":3000}
JSON
[ "$DOUBLE" = 0 ] && [ "$(j distinct other)" = 0 ]
