#!/usr/bin/env bash
# GET /v1/properties/{id} over a table of 100,000 published listings, each
# request a random one of them (wrk -t1 -c64, a Lua script picks the id),
# beside /healthz from the same daemon in the same run.  Target: 20,000 req/s.
# The listings are inserted with one SQL statement and published directly in
# SQL, bypassing HTTP; they are removed again when the run ends.
. "$(dirname "$0")/lib.sh"

N=${BENCH_LISTINGS:-100000}
BENCH_WORKERS=${BENCH_WORKERS:-$(nproc)} # workers = auto: one per core
OWNER=00000000-0000-4000-8000-00000000be50 # marks the bench's rows
LOG_LEVEL=warn WORKERS=$BENCH_WORKERS PLUGINS="property" rz_conf "$T/c" \
    "[plugin.property]" "media_dir = $T/media"
rz_start "$T/c" || exit 1 # applies the schema

drop_rows() { psql "$PGURL" -qAtc "DELETE FROM property.properties WHERE owner_id = '$OWNER'" >/dev/null; }
trap 'drop_rows; cleanup' EXIT
drop_rows
# Ids are be000000-0000-4000-8000-<i in 12 hex digits>, so the Lua script
# can name any of them without a list.
psql "$PGURL" -v ON_ERROR_STOP=1 -qAtc "
    INSERT INTO property.properties (id, owner_id, status, changed_tx, title, description, property_type,
        street, city, region, postal_code, country, lat, lon, bedrooms, beds, bathrooms, max_guests,
        area_m2, amenities, nightly_amount, nightly_currency, min_nights, instant_book,
        cancellation_policy, house_rules, published_at)
    SELECT format('be000000-0000-4000-8000-%s', lpad(to_hex(i), 12, '0'))::uuid, '$OWNER', 'published',
        txid_current(), 'Bench listing ' || i, repeat('A quiet place near the centre. ', 8), 'apartment',
        'Street ' || i, 'Berlin', 'BE', '10115', 'DE', 52.5 + (i % 1000) / 10000.0, 13.4 + (i % 997) / 10000.0,
        1 + i % 4, 1 + i % 6, 1 + (i % 3) * 0.5, 2 + i % 6, 40 + i % 120, '{wifi,washer,heating}',
        5000 + i % 20000, 'EUR', 1 + i % 3, i % 2 = 0, 'moderate', 'No parties.', now()
    FROM generate_series(1, $N) i" || { echo "could not insert the listings"; exit 1; }
# what the plugin's write path stores with every version (events.c)
psql "$PGURL" -v ON_ERROR_STOP=1 -qAtc "UPDATE property.properties p SET snapshot = property.snapshot(p)
    WHERE owner_id = '$OWNER'" >/dev/null || exit 1
# the update left 100,000 dead rows: vacuum now, not autovacuum mid-run
psql "$PGURL" -qAtc "VACUUM ANALYZE property.properties" >/dev/null
ROWS=$(psql "$PGURL" -Atc "SELECT count(*) FROM property.properties WHERE owner_id = '$OWNER'")

cat > "$T/get.lua" <<LUA
math.randomseed(os.time())
request = function()
    return wrk.format("GET", string.format("/v1/properties/be000000-0000-4000-8000-%012x", math.random(1, $N)))
end
LUA
one=$(printf 'be000000-0000-4000-8000-%012x' 1)
code=$(status GET "$BASE/v1/properties/$one")
[ "$code" = 200 ] || { echo "GET of a bench listing answered $code: $(cat "$T/body")"; exit 1; }
BYTES=$(wc -c < "$T/body")

wrk -t1 -c64 -d2s -s "$T/get.lua" "$BASE/" >/dev/null 2>&1 # warm up: connections, statements, cache
wrk_run "$BASE/healthz"; HZ_RPS=$RPS HZ_P50=$P50 HZ_P99=$P99
wrk_run "$BASE/" -s "$T/get.lua"; PG_RPS=$RPS PG_P50=$P50 PG_P99=$P99 PG_NON2XX=${NON2XX:-0}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
pass=$(awk -v r="$PG_RPS" 'BEGIN {print (r >= 20000 ? "yes" : "no")}')
printf "%-34s %12s %9s %9s %10s\n" "target" "req/s" "p50 ms" "p99 ms" "vs healthz"
printf "%-34s %12s %9s %9s %10s\n" "rentezyd GET /healthz" "$HZ_RPS" "$HZ_P50" "$HZ_P99" "1.00"
printf "%-34s %12s %9s %9s %10s\n" "GET /v1/properties/{id} (random)" "$PG_RPS" "$PG_P50" "$PG_P99" "$(ratio "$PG_RPS" "$HZ_RPS")"
echo "$ROWS listings, response ${BYTES} bytes, workers = $BENCH_WORKERS, wrk -t1 -c64 -d${DURATION}s," \
     "non-2xx: $PG_NON2XX; target 20000 req/s met: $pass"
cat > "$TOP/bench/results/property.json" <<JSON
{"bench":"property","date":"$(date -u +%FT%TZ)","wrk":"-t1 -c64 -d${DURATION}s","workers":$BENCH_WORKERS,
 "listings":$ROWS,"response_bytes":$BYTES,"target_rps":20000,"target_met":$([ "$pass" = yes ] && echo true || echo false),
 "healthz":{"rps":$HZ_RPS,"p50_ms":$HZ_P50,"p99_ms":$HZ_P99},
 "get_property":{"rps":$PG_RPS,"p50_ms":$PG_P50,"p99_ms":$PG_P99,"non_2xx":$PG_NON2XX,"ratio_to_healthz":$(ratio "$PG_RPS" "$HZ_RPS")}}
JSON
