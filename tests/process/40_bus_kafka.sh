#!/usr/bin/env bash
# The event bus, kafka backend, through real rentezyd processes against
# librdkafka's mock cluster (tests/tools/kafka_mock) on loopback, in a fresh
# database (the relay sends every event of the outbox):
#   relay1, relay2  [bus] relay = true, no subscriptions: exactly one relays
#   cons            the bustest plugin (groups bt_shared and bt_bcast),
#                   relay = false
# Checks: delivery across processes; every broker down for 30 s while
# publishing goes on (events wait in the outbox, /readyz reports the broker,
# everything arrives after, in order per subject); a poison event in the
# dead letters and in <topic>.dlq while later events flow; data that is not
# JSON and a malformed type from outside go to the dead letters with the
# reason, the worker survives; `bus status` shows the lag; /metrics has
# librdkafka's statistics and the lag; a replay from the start rebuilds the
# consumer's state; kill -9 of the active relay, the other takes over.
. "$(dirname "$0")/../lib.sh"

OUTAGE=${BUS_OUTAGE_SECONDS:-30}
MOCK="$TOP/$BUILD/tests/tools/kafka_mock"
KIO="$TOP/$BUILD/tests/tools/kafka_io"
for f in "$MOCK" "$KIO" "$TPLUGDIR/bustest.so"; do
    [ -e "$f" ] || { echo "FAIL $f is not built"; exit 1; }
done

DB="rz_bk_$$_$RANDOM"
psql "$PGURL" -qc "CREATE DATABASE $DB" || exit 1
DBURL=$(echo "$PGURL" | sed "s|postgresql:///[^?]*|postgresql:///$DB|")
drop_db() { psql "$PGURL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1; }
trap 'cleanup; drop_db' EXIT
PSQL() { psql "$DBURL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }

TOPIC="bk$$-events"
"$MOCK" "$T/bootstrap" "$TOPIC:4" "$TOPIC.dlq:2" >"$T/kafka.log" 2>&1 &
KPID=$!
DAEMON_PIDS="$DAEMON_PIDS $KPID"
for _ in $(seq 1 100); do [ -s "$T/bootstrap" ] && break; sleep 0.1; done
[ -s "$T/bootstrap" ] || { echo "FAIL the mock cluster did not start"; cat "$T/kafka.log"; exit 1; }
BROKERS=$(cat "$T/bootstrap")

pod() { # NAME RELAY PLUGINS [extra lines]
    local name=$1 relay=$2 plugins=$3 port
    shift 3
    port=$(free_port)
    eval "PORT_$name=$port"
    PORT=$port NO_DB=1 WORKERS=1 PLUGINS="$plugins" rz_conf "$T/$name" \
        "[database]" "url = $DBURL" \
        "[bus]" "backend = kafka" "brokers = $BROKERS" "relay = $relay" "lease = 2s" \
        "poll_interval = 200ms" "backoff_base = 20ms" "backoff_max = 200ms" "max_attempts = 3" \
        "[bus.kafka]" "session.timeout.ms = 6000" "$@"
    PORT=$port BASE="http://127.0.0.1:$port" rz_start "$T/$name" || { echo "FAIL $name did not start"; exit 1; }
    eval "PID_$name=$RZ_PID"
}
url() { eval "echo http://127.0.0.1:\$PORT_$1"; }
pod relay1 true hello # applies the host migrations first
pod cons false "$TPLUGDIR/bustest.so" "[plugin.bustest]" "topic = $TOPIC"
pod relay2 true hello
CONS=$(url cons)

wait_for() { # NAME SQL WANT [TRIES of 0.1 s]
    local got
    for _ in $(seq 1 "${4:-300}"); do
        got=$(PSQL "$2"); [ "$got" -ge "$3" ] 2>/dev/null && break; sleep 0.1
    done
    expect_eq "$1" "$got" "$3"
}
publish() { # FROM TO [SUBJECT-PREFIX]
    PSQL "SELECT count(rentezy.publish('$TOPIC', 'test.happened', 'sql', '${3:-s}' || (g % 37), g,
          jsonb_build_object('g', g))) FROM generate_series($1, $2) g" >/dev/null
}
SHARED="SELECT count(DISTINCT event_id) FROM bustest.deliveries WHERE grp = 'bt_shared'"
# order per subject by first delivery (duplicates are allowed: at least once)
BACK="SELECT count(*) FROM (SELECT version < lag(version) OVER (PARTITION BY subject ORDER BY first)
      AS back FROM (SELECT subject, version, min(n) AS first FROM bustest.deliveries
      WHERE grp = '%s' GROUP BY subject, version) f) x WHERE back"
metric() { # URL REGEX -> sum of the matching samples
    curl -s "$1/metrics" | grep -E "$2" | awk '{s += $NF} END {print s + 0}'
}
active_relays() {
    echo $(( $(metric "$(url relay1)" '^rentezy_bus_relay_active') + \
             $(metric "$(url relay2)" '^rentezy_bus_relay_active') ))
}

# ---- across processes ------------------------------------------------------------------
expect_eq "publish through the consumer pod's route is 201" \
    "$(status POST "$CONS/v1/_test/bus/publish" -d '{"type":"test.route","subject":"r1","version":1,"data":{"x":1}}')" 201
publish 1 199
wait_for "relay process -> Kafka -> consumer process: every event, shared group" "$SHARED" 200 400
wait_for "... and the broadcast group" \
    "SELECT count(DISTINCT event_id) FROM bustest.deliveries WHERE grp = 'bt_bcast'" 200 400
for _ in $(seq 1 30); do [ "$(active_relays)" = 1 ] && break; sleep 0.2; done
expect_eq "exactly one of the two relay processes relays" "$(active_relays)" 1

# ---- every broker down for $OUTAGE s while publishing goes on --------------------------
kill -USR1 "$KPID"
t0=$(date +%s)
NOT_READY=0 DELIVERED_DURING=0
i=0
while [ $(( $(date +%s) - t0 )) -lt "$OUTAGE" ]; do
    publish $((1000 + i * 100)) $((1099 + i * 100))
    i=$((i + 1))
    if [ "$NOT_READY" = 0 ] && [ "$(status GET "$CONS/readyz")" = 503 ] &&
        jq -e '.reason | test("Kafka")' "$T/body" >/dev/null; then
        NOT_READY=1
        echo "     /readyz during the outage: $(cat "$T/body")"
    fi
    sleep 1
done
HELD=$((i * 100))
DELIVERED_DURING=$(( $(PSQL "$SHARED") - 200 ))
WAITING=$(PSQL "SELECT count(*) FROM rentezy.outbox o WHERE NOT EXISTS (SELECT 1 FROM
    rentezy.bus_positions r WHERE r.grp = '_relay' AND (r.pos_xid, r.pos_seq) >= (o.xid, o.seq))")
kill -USR2 "$KPID"
t1=$(date +%s)
expect_eq "/readyz reported the unreachable brokers during the outage" "$NOT_READY" 1
expect_eq "nothing was delivered while the brokers were down" "$DELIVERED_DURING" 0
check "events waited in the outbox (not marked relayed): $WAITING of $HELD" test "$WAITING" -ge "$HELD"
wait_for "after ${OUTAGE} s down, every event published meanwhile arrives" "$SHARED" $((200 + HELD)) 900
echo "     ($HELD events published during the outage arrived $(( $(date +%s) - t1 )) s after the brokers came back)"
expect_eq "in order per subject (shared)" "$(PSQL "$(printf "$BACK" bt_shared)")" 0
expect_eq "in order per subject (broadcast)" "$(PSQL "$(printf "$BACK" bt_bcast)")" 0
ready=0
for _ in $(seq 1 50); do [ "$(status GET "$CONS/readyz")" = 200 ] && { ready=1; break; }; sleep 0.2; done
expect_eq "/readyz is 200 again once the brokers are back" "$ready" 1
TOTAL=$((200 + HELD))

# ---- a poison event; bad input from outside ----------------------------------------------
WPID=$(curl -s "$CONS/v1/_test/bus/stats" | jq -r .pid)
publish 900000 900000 bad
"$KIO" produce "$BROKERS" "$TOPIC" raw1 '{not json' rz-type=test.raw rz-id=raw-not-json >/dev/null
"$KIO" produce "$BROKERS" "$TOPIC" raw2 '{}' rz-type=NoDot rz-id=raw-bad-type >/dev/null
publish 900001 900100 late
TOTAL=$((TOTAL + 100))
wait_for "events after the poison and the bad input flow" \
    "SELECT count(DISTINCT event_id) FROM bustest.deliveries WHERE grp = 'bt_shared' AND subject LIKE 'late%'" 100
wait_for "the poison is a dead letter of both groups, after 3 attempts" \
    "SELECT count(*) FROM rentezy.bus_dead WHERE topic = '$TOPIC' AND subject LIKE 'bad%' AND attempts = 3 AND error LIKE 'bustest refuses%'" 2
wait_for "data that is not JSON: a dead letter with the reason" \
    "SELECT count(*) FROM rentezy.bus_dead WHERE event_id = 'raw-not-json' AND error LIKE 'data is not valid JSON%'" 2
wait_for "a malformed type: a dead letter with the reason" \
    "SELECT count(*) FROM rentezy.bus_dead WHERE event_id = 'raw-bad-type' AND error LIKE 'unknown event type%'" 2
"$KIO" dump "$BROKERS" "$TOPIC.dlq" > "$T/dlq.jsonl"
check "<topic>.dlq holds the poison with the handler's error" \
    jq -se 'map(select((.key | startswith("bad")) and (.headers["rz-error"] | test("bustest refuses")))) | length == 2' "$T/dlq.jsonl"
check "<topic>.dlq holds the bad input with the reason" \
    jq -se 'map(select(.headers["rz-error"] | test("not valid JSON|unknown event type"))) | length == 4' "$T/dlq.jsonl"
expect_eq "the consuming worker did not crash" "$(curl -s "$CONS/v1/_test/bus/stats" | jq -r .pid)" "$WPID"

# ---- lag: bus status and /metrics ------------------------------------------------------------
CW=$(pgrep -P "$PID_cons" | head -n 1)
kill -STOP "$CW"
publish 910000 910049 lag
TOTAL=$((TOTAL + 50))
for _ in $(seq 1 50); do
    [ "$(PSQL "SELECT count(*) FROM rentezy.outbox o WHERE NOT EXISTS (SELECT 1 FROM rentezy.bus_positions r
          WHERE r.grp = '_relay' AND (r.pos_xid, r.pos_seq) >= (o.xid, o.seq))")" = 0 ] && break
    sleep 0.1
done
"$RZD" -c "$T/cons" bus status > "$T/status.out" 2>"$T/status.err"
kill -CONT "$CW"
sed 's/^/     /' "$T/status.out"
check "bus status shows the lag of the shared group (>= 50 while its consumer is stopped)" \
    awk -v g=bt_shared -v t="$TOPIC" '$1 == g && $2 == t && $6 >= 50 {ok = 1} END {exit !ok}' "$T/status.out"
check "bus status shows the relay" grep -q "^relay" "$T/status.out"
wait_for "once the consumer runs again, it catches up" "$SHARED" "$TOTAL" 300
for _ in $(seq 1 30); do
    [ "$(metric "$CONS" '^rentezy_bus_kafka_lag\{.*group="bt_shared"')" = 0 ] && break; sleep 0.2
done
expect_eq "/metrics: the shared group's lag is back to 0" \
    "$(metric "$CONS" '^rentezy_bus_kafka_lag\{.*group="bt_shared"')" 0
check "/metrics: librdkafka statistics of the consumers (messages received)" \
    test "$(metric "$CONS" "^rentezy_bus_kafka_client_total\{.*client=\"$TOPIC/bt_shared\",what=\"rxmsgs\"")" -gt 0
check "/metrics: librdkafka statistics of the relay's producer (messages sent, brokers up)" sh -c "
    test \$(curl -s '$(url relay1)/metrics' '$(url relay2)/metrics' | grep -E '^rentezy_bus_kafka_client_total\{.*client=\"producer\",what=\"txmsgs\"' | awk '{s += \$NF} END {print s + 0}') -gt 0 &&
    curl -s '$(url relay1)/metrics' '$(url relay2)/metrics' | grep -qE '^rentezy_bus_kafka_client\{.*client=\"producer\",what=\"brokers_up\"} [1-9]'"

# ---- replay from the start rebuilds the consumer's state ----------------------------------
PSQL "DELETE FROM bustest.deliveries WHERE grp = 'bt_shared'"
check "rentezyd bus replay --from-start" "$RZD" -c "$T/cons" bus replay --group bt_shared --topic "$TOPIC" --from-start
wait_for "the replay rebuilds the shared group's state: every event again" "$SHARED" "$TOTAL" 600

# ---- kill -9 the active relay; the other takes over ---------------------------------------
if [ "$(metric "$(url relay1)" '^rentezy_bus_relay_active')" = 1 ]; then VICTIM=relay1 SURVIVOR=relay2
else VICTIM=relay2 SURVIVOR=relay1; fi
eval "VPID=\$PID_$VICTIM"
OWNER=$(PSQL "SELECT owner FROM rentezy.bus_positions WHERE grp = '_relay'")
VW=$(pgrep -P "$VPID" | head -n 1)
{ kill -9 "$VW" "$VPID"; wait "$VPID"; } 2>/dev/null
for _ in $(seq 1 50); do [ "$(metric "$(url $SURVIVOR)" '^rentezy_bus_relay_active')" = 1 ] && break; sleep 0.1; done
expect_eq "after kill -9 of the active relay ($VICTIM), $SURVIVOR relays" \
    "$(metric "$(url $SURVIVOR)" '^rentezy_bus_relay_active')" 1
publish 920000 920199 after
TOTAL=$((TOTAL + 200))
wait_for "events published after the takeover arrive" "$SHARED" "$TOTAL" 300
NEW=$(PSQL "SELECT owner FROM rentezy.bus_positions WHERE grp = '_relay'")
check "the relay position has a new owner ($OWNER -> $NEW)" test -n "$NEW" -a "$NEW" != "$OWNER"
expect_eq "in order per subject after everything" "$(PSQL "$(printf "$BACK" bt_shared)")" 0
check "no sanitizer report in the daemons' logs" sh -c "! grep -E 'runtime error|ERROR: AddressSanitizer' '$T/daemon.log'"
finish
