#!/usr/bin/env bash
# The event bus, embedded backend, through real rentezyd processes: the
# bustest plugin publishes through a route and consumes in a shared and a
# broadcast group (2 workers).  Checks: every event reaches the shared group
# once and every worker (broadcast); a worker killed with -9 mid-stream is
# restarted and nothing is lost; a poison event goes to the dead letters
# while later events flow; the CLI (status, dlq, replay); a clean SIGTERM
# hands the partitions back.
. "$(dirname "$0")/../lib.sh"

PSQL() { psql "$PGURL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }
TOPIC="bt$$-events"
WORKERS=2 PLUGINS="$TPLUGDIR/bustest.so" rz_conf "$T/c" \
    "[bus]" "lease = 2s" "poll_interval = 200ms" "backoff_base = 20ms" "backoff_max = 200ms" \
    "max_attempts = 3" "[plugin.bustest]" "topic = $TOPIC"
rz_start "$T/c" || exit 1
PSQL "TRUNCATE bustest.deliveries"

shared() { PSQL "SELECT count(DISTINCT event_id) FROM bustest.deliveries WHERE grp = 'bt_shared'"; }
wait_for() { # NAME SQL WANT [TRIES]
    local got
    for _ in $(seq 1 "${4:-300}"); do
        got=$(PSQL "$2"); [ "$got" -ge "$3" ] 2>/dev/null && break; sleep 0.1
    done
    expect_eq "$1" "$got" "$3"
}
publish_sql() { # FROM TO [SUBJECT-PREFIX]
    PSQL "SELECT count(rentezy.publish('$TOPIC', 'test.happened', 'sql', '${3:-s}' || (g % 37), g,
          jsonb_build_object('g', g))) FROM generate_series($1, $2) g" >/dev/null
}

# publish through the plugin's route (bus_publish)
expect_eq "publish through bus_publish is 201" \
    "$(status POST "$BASE/v1/_test/bus/publish" -d '{"type":"test.route","subject":"r1","version":1,"data":{"x":1}}')" 201
check "the answer carries the event id" jq -e '.id | test("^[0-9a-f-]{36}$")' "$T/body"
expect_eq "a bad type is refused with 400" \
    "$(status POST "$BASE/v1/_test/bus/publish" -d '{"type":"NoDot","subject":"r1"}')" 400
publish_sql 1 999
wait_for "the shared group sees every event once" \
    "SELECT count(DISTINCT event_id) FROM bustest.deliveries WHERE grp = 'bt_shared'" 1000
wait_for "each of the 2 workers sees every event (broadcast)" \
    "SELECT count(*) FROM (SELECT pid FROM bustest.deliveries WHERE grp = 'bt_bcast' GROUP BY pid HAVING count(DISTINCT event_id) = 1000) x" 2
expect_eq "no duplicates without a crash" \
    "$(PSQL "SELECT count(*) - count(DISTINCT event_id) FROM bustest.deliveries WHERE grp = 'bt_shared'")" 0
expect_eq "in order per subject" "$(PSQL "SELECT count(*) FROM (SELECT version < lag(version) OVER (PARTITION BY subject ORDER BY n) AS back FROM bustest.deliveries WHERE grp = 'bt_shared') x WHERE back")" 0

# kill -9 a worker mid-stream: the master restarts it, nothing is lost
( for b in $(seq 0 19); do publish_sql $((1000 + b * 500)) $((1499 + b * 500)); sleep 0.05; done ) &
PUB=$!
sleep 0.5
VICTIM=$(pgrep -P "$RZ_PID" | head -n 1)
kill -9 "$VICTIM"
wait "$PUB"
wait_for "after kill -9 of a worker, every event reached the shared group" \
    "SELECT count(DISTINCT event_id) FROM bustest.deliveries WHERE grp = 'bt_shared'" 11000 600
echo "     duplicates after kill -9: $(PSQL "SELECT count(*) - count(DISTINCT event_id) FROM bustest.deliveries WHERE grp = 'bt_shared'")"

# a poison event: dead letters, later events flow
publish_sql 20000 20000 bad
publish_sql 20001 20100 late
wait_for "events after the poison flow" \
    "SELECT count(DISTINCT event_id) FROM bustest.deliveries WHERE grp = 'bt_shared' AND subject LIKE 'late%'" 100
wait_for "the poison is in the dead letters of both groups" \
    "SELECT count(*) FROM rentezy.bus_dead WHERE topic = '$TOPIC' AND subject LIKE 'bad%'" 3
check "rentezyd bus dlq list shows it" sh -c "'$RZD' -c '$T/c' bus dlq list --topic '$TOPIC' | grep -q 'bustest refuses'"
check "rentezyd bus status shows the groups" sh -c "'$RZD' -c '$T/c' bus status | grep -q 'bt_shared *$TOPIC'"
check "/metrics has the bus figures" sh -c "curl -fsS '$BASE/metrics' | grep -q 'rentezy_bus_events_total{.*outcome=\"dead\"}'"
expect_eq "/readyz is 200 with the bus running" "$(status GET "$BASE/readyz")" 200

# replay from the start: the shared group gets everything again
before=$(PSQL "SELECT count(*) FROM bustest.deliveries WHERE grp = 'bt_shared'")
check "rentezyd bus replay --from-start" "$RZD" -c "$T/c" bus replay --group bt_shared --topic "$TOPIC" --from-start
wait_for "replay delivers every event again" \
    "SELECT count(*) - $before FROM bustest.deliveries WHERE grp = 'bt_shared'" 11100 600
check "dlq drop --all" "$RZD" -c "$T/c" bus dlq drop --all --topic "$TOPIC"

rz_stop TERM
expect_eq "SIGTERM exits 0" "$RZ_STATUS" 0
expect_eq "partitions handed back at shutdown" \
    "$(PSQL "SELECT count(*) FROM rentezy.bus_positions WHERE topic = '$TOPIC' AND grp = 'bt_shared' AND owner IS NOT NULL")" 0
PSQL "DELETE FROM rentezy.outbox WHERE topic = '$TOPIC'; DELETE FROM rentezy.bus_positions WHERE topic = '$TOPIC'"
finish
