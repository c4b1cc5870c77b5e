#!/usr/bin/env bash
# Delivery to a user wherever connected (issue 6): three rentezyd processes
# on three ports share the private PostgreSQL; a user connected to the first
# two gets what a route on the third pushes (ws_send_user -> the host topic
# ws-push of the event bus, broadcast to every worker of every process).
# The first daemon runs two workers, so the path across workers is covered too.
# With WS_BUS=kafka (31_ws_kafka.sh) the bus is a librdkafka mock cluster:
# the outbox row goes through the relay and each process's own consumer group.
. "$(dirname "$0")/../lib.sh"

WSC="$TOP/$BUILD/tests/tools/wsclient"
EXP=$(( $(date +%s) + 3600 ))
PLUGINS="hello $TPLUGDIR/wsecho.so"
BUSCONF=()
WAIT_MS=10000
if [ "${WS_BUS:-embedded}" = kafka ]; then
    # a fresh database: the relay would otherwise send what other tests left
    DB="rz_ws_$$_$RANDOM"
    psql "$PGURL" -qc "CREATE DATABASE $DB" || exit 1
    DBURL=$(echo "$PGURL" | sed "s|postgresql:///[^?]*|postgresql:///$DB|")
    drop_db() { psql "$PGURL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1; }
    "$TOP/$BUILD/tests/tools/kafka_mock" "$T/bootstrap" ws-push >"$T/kafka.log" 2>&1 &
    DAEMON_PIDS="$DAEMON_PIDS $!"
    trap 'cleanup; drop_db' EXIT
    for _ in $(seq 1 100); do [ -s "$T/bootstrap" ] && break; sleep 0.1; done
    [ -s "$T/bootstrap" ] || { echo "FAIL the mock cluster did not start"; cat "$T/kafka.log"; exit 1; }
    export NO_DB=1
    WAIT_MS=30000 # the relay and the mock's fetch loop add their own latency
    BUSCONF=("[database]" "url = $DBURL" "[bus]" "backend = kafka" "brokers = $(cat "$T/bootstrap")"
             "[bus.kafka]" "session.timeout.ms = 6000")
fi
declare -a PORTS BASES
for i in 1 2 3; do
    PORT=$(free_port); BASE="http://127.0.0.1:$PORT"
    PORTS[$i]=$PORT; BASES[$i]=$BASE
    WORKERS=$([ "$i" = 1 ] && echo 2 || echo 1) rz_conf "$T/c$i" "${BUSCONF[@]}" "[websocket]" "test_tokens = true"
    rz_start "$T/c$i" || exit 1
done

# every worker of every daemon has seen its own batch come back before we
# push; /metrics lands on any worker and shows that worker's line only, so
# ask until every worker of the daemon has answered "up"
fanout_up() {
    local i w n
    for i in 1 2 3; do
        w=$([ "$i" = 1 ] && echo 2 || echo 1)
        n=$(for _ in 1 2 3 4 5 6 7 8; do curl -fsS "${BASES[$i]}/metrics"; done |
            grep -o '^rentezy_ws_fanout_up{worker="[0-9]*"} 1' | sort -u | wc -l)
        [ "$n" -ge "$w" ] || return 1
    done
}
# (a Kafka consumer group of the mock cluster takes a few seconds to form)
for _ in $(seq 1 300); do fanout_up && break; sleep 0.1; done
check "every worker's fan-out link is up" fanout_up

start_client() { # OUT PORT USER STEPS...
    local out=$1 port=$2 user=$3; shift 3
    "$WSC" -T "$WAIT_MS" -t "test.$user.tenant.$EXP" "127.0.0.1:$port" 'expect:hello' "$@" >"$out" 2>&1 &
}
# One pattern per connection: pushes from different processes have no
# order between them (over Kafka "again" often overtakes "from three"), and
# a count step skips whatever does not match.
start_client "$T/a1" "${PORTS[1]}" alice 'count:"text":"from three":2'; A1=$!
start_client "$T/a1b" "${PORTS[1]}" alice 'count:"text":"from three":2'; A1B=$!
start_client "$T/a1c" "${PORTS[1]}" alice 'count:"text":"again":1'; A1C=$!
start_client "$T/a2" "${PORTS[2]}" alice 'count:"text":"from three":2'; A2=$!
start_client "$T/a2c" "${PORTS[2]}" alice 'count:"text":"again":1'; A2C=$!
start_client "$T/b2" "${PORTS[2]}" bob 'expect:"text":"for bob"'; B2=$!
# must time out: bob's push is not alice's
"$WSC" -T 4000 -t "test.alice.tenant.$EXP" "127.0.0.1:${PORTS[2]}" 'expect:hello' \
    'expect:"text":"for bob"' >"$T/ax" 2>&1 & AX=$!
sleep 1

push() { # PORT-INDEX USER TEXT
    status POST "${BASES[$1]}/v1/_test/ws/push" -d "{\"user\":\"$2\",\"text\":\"$3\"}"
}
expect_eq "push from the third process" "$(push 3 alice 'from three')" 200
expect_eq "an identical second push is not folded into the first" "$(push 3 alice 'from three')" 200
expect_eq "a push to bob" "$(push 3 bob 'for bob')" 200
expect_eq "a push from a process where alice is connected" "$(push 1 alice 'again')" 200
T0=$(date +%s%N)
check "alice on process 1 got both identical pushes from process 3" wait $A1
check "alice's second connection on process 1 got them too" wait $A1B
check "alice on process 1 got the push sent on process 1 (either worker)" wait $A1C
check "alice on process 2 got both pushes from process 3" wait $A2
check "alice on process 2 got the push sent on process 1" wait $A2C
echo "     (every push received $(( ($(date +%s%N) - T0) / 1000000 )) ms after the last one was sent)"
check "bob got his" wait $B2
wait $AX; AXRC=$?
check "alice did not get bob's message" sh -c "[ $AXRC = 1 ] && grep -q 'expected expect:' '$T/ax'"
# these daemons keep the default [websocket] origins (empty): same origin only
check "default origins: the page's own origin is accepted" "$WSC" -o "http://127.0.0.1:${PORTS[3]}" \
    -t "test.carol.tenant.$EXP" "127.0.0.1:${PORTS[3]}" 'expect:hello'
check "default origins: another origin is refused with 403" "$WSC" -e 403 -o "http://evil.example" \
    -t "test.carol.tenant.$EXP" "127.0.0.1:${PORTS[3]}"
expect_eq "a push to nobody connected is fine" "$(push 2 nobody 'lost')" 200
check "fan-out counted" sh -c "curl -fsS '${BASES[2]}/metrics' | grep -Eq '^rentezy_ws_fanout_received_total\{worker=\"0\"\} [1-9]'"
check "pushes travel as bus events (batches)" sh -c "curl -fsS '${BASES[3]}/metrics' | grep -Eq '^rentezy_ws_fanout_batches_total\{worker=\"0\"\} [1-9]'"
finish
