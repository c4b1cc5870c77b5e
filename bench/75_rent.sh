#!/usr/bin/env bash
# Rent: the monthly run for many leases with the sandbox provider.
#   charge run   BENCH_LEASES active leases (default 100,000, the issue's
#                figure) whose charge falls
#                due in 7 days; the clock passes midnight, the daily job
#                creates one charge per lease: charges/s and wall time
#   due run      the clock moves to the due date: reminders, then one autopay
#                attempt per lease (a payment job each) through the sandbox:
#                payments/s and wall time until every charge is paid
# Leases are inserted with SQL (the state POST /v1/leases + accept leave);
# rentezyd runs [host] workers = 2 (BENCH_WORKERS).
. "$(dirname "$0")/lib.sh"

N=${BENCH_LEASES:-100000}
SECRET="bench-secret-$(head -c 12 /dev/urandom | base64 -w0 | tr -d '/+=')"
WORKERS=${BENCH_WORKERS:-2} LOG_LEVEL=warn PLUGINS="rent" rz_conf "$T/c" \
    "[jobs]" "poll_interval = 50ms" "batch = 256" \
    "[database]" "pool_size = ${BENCH_POOL:-8}" \
    "[plugin.rent]" "sandbox_webhook_secret = $SECRET" \
    "sandbox_webhook_url = $BASE/v1/payments/webhooks/sandbox" "run_cron = 0 0 * * *"
sql() { psql "$PGURL" -XAtq -c "$1"; }
# jobs left by a test aim at a daemon that is gone (the schedule itself is
# reset by the host when an earlier clock left it in the future)
sql "delete from rentezy.jobs where plugin = 'rent'" 2>/dev/null
rz_start "$T/c" || exit 1
now_ms() { curl -s -H 'Content-Type: application/json' -d "{\"advance_ms\":${1:-0}}" "$BASE/v1/_test/clock" | jq -r .now_ms; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

NOW=$(now_ms)
TODAY=$(date -u -d "@$((NOW / 1000))" +%F)
TAG=$(cat /proc/sys/kernel/random/uuid)   # property_id of this run's leases
DUE=$(date -u -d "$TODAY +8 days" +%d | sed 's/^0//')
[ "$DUE" -le 28 ] || DUE=28   # next_start is the due date itself: no proration
START=$(date -u -d "$TODAY +8 days" +%F)
t=$(ms)
sql "insert into rent.leases (id, landlord_id, tenant_id, property_id, amount, currency, start_date,
        due_day, grace_days, reminder_days, fee_type, fee_amount, time_zone, status, autopay,
        next_start, processed_through, created_at, updated_at)
     select gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), '$TAG', 100000 + g, 'EUR',
            '$START', $DUE, 3, 3, 'fixed', 2500, 'UTC', 'active', 'tok_ok', '$START', '$TODAY',
            now(), now()
       from generate_series(1, $N) g"
echo "inserted $N leases in $(( $(ms) - t )) ms"
LEASES="(select id from rent.leases where property_id = '$TAG')"
behind() { sql "select count(*) from rent.leases where property_id = '$TAG' and processed_through < '$1'"; }

# ---- charge run: the clock passes midnight ------------------------------------------------
TO_MIDNIGHT=$(( 86400000 - NOW % 86400000 + 60000 ))
t=$(ms)
now_ms "$TO_MIDNIGHT" > /dev/null
DAY1=$(date -u -d "$TODAY +1 day" +%F)
while [ "$(behind "$DAY1")" != 0 ]; do sleep 0.2; done
T1=$(( $(ms) - t ))
C1=$(sql "select count(*) from rent.charges where lease_id in $LEASES")

# ---- due run: the clock moves to the due date ----------------------------------------------
t=$(ms)
now_ms $(( 7 * 86400000 )) > /dev/null
while [ "$(behind "$START")" != 0 ]; do sleep 0.2; done
T2a=$(( $(ms) - t ))
while [ "$(sql "select count(*) from rent.charges where lease_id in $LEASES and status <> 'paid'")" != 0 ]; do
    sleep 0.5
    [ $(( $(ms) - t )) -lt 1800000 ] || { echo "payments did not finish in 30 min"; break; }
done
T2=$(( $(ms) - t ))
P2=$(sql "select count(*) from rent.payments where lease_id in $LEASES and status = 'succeeded'")
DOUBLE=$(sql "select count(*) from (select charge_id from rent.payments where lease_id in $LEASES
                                      and status = 'succeeded' group by 1 having count(*) > 1) d")

rate() { awk -v n="$1" -v ms="$2" 'BEGIN { r = 0; if (ms > 0) r = n * 1000 / ms; printf "%.0f", r }'; }
printf "%-44s %10s %10s %12s\n" "run" "items" "wall ms" "items/s"
printf "%-44s %10s %10s %12s\n" "charge run: $N leases, one charge each" "$C1" "$T1" "$(rate "$C1" "$T1")"
printf "%-44s %10s %10s %12s\n" "due run: reminders + autopay jobs queued" "$N" "$T2a" "$(rate "$N" "$T2a")"
printf "%-44s %10s %10s %12s\n" "due run: until every charge is paid" "$P2" "$T2" "$(rate "$P2" "$T2")"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "double payments: $DOUBLE; target: 100,000 leases (this run: $N); load average $LOAD"
cat > "$TOP/bench/results/rent.json" <<JSON
{"bench":"rent","date":"$(date -u +%FT%TZ)","workers":${BENCH_WORKERS:-2},"leases":$N,
 "charge_run":{"charges":$C1,"wall_ms":$T1,"charges_per_s":$(rate "$C1" "$T1")},
 "due_run":{"payments":$P2,"queue_ms":$T2a,"wall_ms":$T2,"payments_per_s":$(rate "$P2" "$T2")},
 "double_payments":$DOUBLE,"target_leases":100000,"load_average":"$LOAD","cpus":$(nproc)}
JSON
# The database outlives the benchmark: its leases go, or every later daily
# run (tests, make run) would wade through them.
sql "delete from rent.sandbox_charges where grp in (select id::text from rent.charges where lease_id in $LEASES);
     delete from rent.payments where lease_id in $LEASES;
     delete from rent.charges where lease_id in $LEASES and kind = 'late_fee';
     delete from rent.charges where lease_id in $LEASES;
     delete from rent.leases where property_id = '$TAG'" >/dev/null
[ "$C1" = "$N" ] && [ "$P2" = "$N" ] && [ "$DOUBLE" = 0 ]
