#!/usr/bin/env bash
# Delivery to a user wherever connected (issue 6): three rentezyd processes
# on three ports share the private PostgreSQL; a user connected to the first
# two gets what a route on the third pushes (ws_send_user -> LISTEN/NOTIFY).
# The first daemon runs two workers, so the path across workers is covered too.
. "$(dirname "$0")/../lib.sh"

WSC="$TOP/$BUILD/tests/tools/wsclient"
EXP=$(( $(date +%s) + 3600 ))
PLUGINS="hello $TPLUGDIR/wsecho.so"
declare -a PORTS BASES
for i in 1 2 3; do
    PORT=$(free_port); BASE="http://127.0.0.1:$PORT"
    PORTS[$i]=$PORT; BASES[$i]=$BASE
    WORKERS=$([ "$i" = 1 ] && echo 2 || echo 1) rz_conf "$T/c$i" "[websocket]" "test_tokens = true"
    rz_start "$T/c$i" || exit 1
done

# every worker of every daemon listens before we push
fanout_up() {
    for i in 1 2 3; do
        for _ in 1 2 3 4; do # /metrics lands on any worker: ask a few times
            curl -fsS "${BASES[$i]}/metrics" | grep -q '^rentezy_ws_fanout_up{worker="[0-9]*"} 1' || return 1
        done
    done
}
for _ in $(seq 1 50); do fanout_up && break; sleep 0.1; done
check "every worker's fan-out link is up" fanout_up

start_client() { # OUT PORT USER STEPS...
    local out=$1 port=$2 user=$3; shift 3
    "$WSC" -T 10000 -t "test.$user.tenant.$EXP" "127.0.0.1:$port" 'expect:hello' "$@" >"$out" 2>&1 &
}
start_client "$T/a1" "${PORTS[1]}" alice 'count:"text":"from three":2' 'count:"text":"again":1'; A1=$!
start_client "$T/a1b" "${PORTS[1]}" alice 'count:"text":"from three":2'; A1B=$!
start_client "$T/a2" "${PORTS[2]}" alice 'count:"text":"from three":2' 'count:"text":"again":1'; A2=$!
start_client "$T/b2" "${PORTS[2]}" bob 'expect:"text":"for bob"'; B2=$!
sleep 1

push() { # PORT-INDEX USER TEXT
    status POST "${BASES[$1]}/v1/_test/ws/push" -d "{\"user\":\"$2\",\"text\":\"$3\"}"
}
expect_eq "push from the third process" "$(push 3 alice 'from three')" 200
expect_eq "an identical second push is not folded into the first" "$(push 3 alice 'from three')" 200
expect_eq "a push to bob" "$(push 3 bob 'for bob')" 200
expect_eq "a push from a process where alice is connected" "$(push 1 alice 'again')" 200
check "alice on process 1 got both identical pushes and the local one" wait $A1
check "alice's second connection on process 1 got them too" wait $A1B
check "alice on process 2 got every push, including one sent from process 1" wait $A2
check "bob got only his" wait $B2
check "alice did not get bob's message" sh -c "! grep -q 'for bob' '$T/a1' '$T/a2'"
# these daemons keep the default [websocket] origins (empty): same origin only
check "default origins: the page's own origin is accepted" "$WSC" -o "http://127.0.0.1:${PORTS[3]}" \
    -t "test.carol.tenant.$EXP" "127.0.0.1:${PORTS[3]}" 'expect:hello'
check "default origins: another origin is refused with 403" "$WSC" -e 403 -o "http://evil.example" \
    -t "test.carol.tenant.$EXP" "127.0.0.1:${PORTS[3]}"
expect_eq "a push to nobody connected is fine" "$(push 2 nobody 'lost')" 200
check "fan-out counted" sh -c "curl -fsS '${BASES[2]}/metrics' | grep -Eq '^rentezy_ws_fanout_received_total\{worker=\"0\"\} [1-9]'"
finish
