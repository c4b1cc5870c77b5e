#!/usr/bin/env bash
# WebSocket conformance (issue 6): the handshake and its refusals, then cases
# in the spirit of the Autobahn suite's sections 1-7 and 9 sent by a raw
# client (tests/tools/wsclient.c).  After every case the worker must still
# answer /healthz with the same pid: no malformed frame may crash it.
. "$(dirname "$0")/../lib.sh"

WSC="$TOP/$BUILD/tests/tools/wsclient"
HP="127.0.0.1:$PORT"
EXP=$(( $(date +%s) + 3600 ))
TOK="test.alice.tenant.$EXP"
PLUGINS="hello $TPLUGDIR/wsecho.so"
# Real JWTs too when the token tool is built (issue 5's verifier behind
# rz__authz_verify); test tokens ("test.<user>.<role>.<exp>") always.
MKJWT="$TOP/$BUILD/tests/tools/mkjwt"
AUTH=()
if [ -x "$MKJWT" ]; then
    head -c 48 /dev/urandom | base64 -w0 >"$T/secret"
    AUTH=("[auth]" "algorithm = HS256" "jwt_secret_file = $T/secret")
fi
rz_conf "$T/conf" "${AUTH[@]}" "[websocket]" "test_tokens = true" "max_message_size = 256KiB" \
    "ping_interval = 1s" "idle_timeout = 3s" "close_timeout = 2s" \
    "origins = http://allowed.example null"
rz_start "$T/conf" || exit 1

worker_pid() { pgrep -P "$RZ_PID" | head -n 1; }
WPID=$(worker_pid)

# ws NAME [wsclient args...]: the case passes, and the worker survived it.
ws() {
    local name=$1; shift
    check "$name" "$WSC" "$@"
    local now; now=$(worker_pid)
    if ! curl -fsS -o /dev/null --max-time 2 "$BASE/healthz" || [ "$now" != "$WPID" ]; then
        echo "FAIL $name: the worker died (pid $WPID -> ${now:-none})"; FAILS=$((FAILS + 1))
        WPID=$now
    fi
}
# ws_body NAME PATTERN [wsclient args...]: also the output contains PATTERN.
ws_body() {
    local name=$1 pat=$2; shift 2
    "$WSC" "$@" >"$T/ws.out" 2>&1; local rc=$?
    if [ $rc -eq 0 ] && grep -q -- "$pat" "$T/ws.out"; then echo "ok   $name"; else
        echo "FAIL $name (rc $rc, want '$pat')"; sed 's/^/     /' "$T/ws.out" | head -n 10
        FAILS=$((FAILS + 1)); fi
}

echo "# handshake"
ws   "subprotocol token is accepted and bearer is selected" -t "$TOK" "$HP" 'expect:"type":"hello"'
ws   "query-string token is accepted" -q "$TOK" "$HP" 'expect:"user":"alice"'
ws   "Authorization header token is accepted" -a "$TOK" "$HP" 'expect:"user":"alice"'
if [ -x "$MKJWT" ]; then
    JWT=$("$MKJWT" -k "$T/secret" -s u-7 -r landlord)
    ws "a signed JWT in the subprotocol is accepted" -t "$JWT" "$HP" \
        'text:{"ch":"echo","type":"whoami"}' 'expect:"user":"u-7","role":"landlord"'
    ws_body "an expired JWT is 401 token_expired" '"token_expired"' -e 401 \
        -t "$("$MKJWT" -k "$T/secret" -e -3600)" "$HP"
    ws_body "a JWT signed with another key is 401 invalid_token" '"invalid_token"' -e 401 \
        -t "$(printf 'another-secret-of-enough-length-0123456789abcdef' >"$T/other"; "$MKJWT" -k "$T/other")" "$HP"
else
    echo "ok   (skipped: JWT cases, tests/tools/mkjwt is not built)"
fi
ws_body "no token is 401" '"unauthenticated"' -e 401 "$HP"
ws_body "a bad token is 401 invalid_token" '"invalid_token"' -e 401 -t "garbage" "$HP"
ws_body "an expired token is 401 token_expired" '"token_expired"' -e 401 \
    -t "test.alice.tenant.$(( $(date +%s) - 10 ))" "$HP"
ws_body "an Origin not in the list is 403" '"origin_not_allowed"' -e 403 -o http://evil.example -t "$TOK" "$HP"
ws   "an Origin in the list is accepted" -o http://allowed.example -t "$TOK" "$HP" 'expect:hello'
ws   "Origin null (file: pages) is accepted when listed" -o null -t "$TOK" "$HP" 'expect:hello'
KEY="dGhlIHNhbXBsZSBub25jZQ=="
expect_eq "a plain GET is 426" "$(status GET "$BASE/v1/ws")" 426
expect_eq "version 8 is 426" "$(status GET "$BASE/v1/ws?access_token=$TOK" -H 'Upgrade: websocket' \
    -H 'Connection: Upgrade' -H 'Sec-WebSocket-Version: 8' -H "Sec-WebSocket-Key: $KEY")" 426
expect_eq "a short key is 400" "$(status GET "$BASE/v1/ws?access_token=$TOK" -H 'Upgrade: websocket' \
    -H 'Connection: keep-alive, Upgrade' -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: abc")" 400
expect_eq "POST /v1/ws is 405" "$(status POST "$BASE/v1/ws")" 405

echo "# 1: text messages of every length class, binary refused"
ws "1.1 empty object is answered on channel error" -t "$TOK" "$HP" 'text:{}' 'expect:invalid_message'
ws "1.1 not JSON is an error message, not a close" -t "$TOK" "$HP" 'text:hello' 'expect:invalid_message' \
    'text:{"ch":"echo","still":"open"}' 'expect:still'
for n in 125 126 127 65535 65536 200000; do
    ws "1.1 echo of $n bytes" -t "$TOK" "$HP" "big:$n" 'expect:"pad":"xxx'
done
ws "1.2 binary message closes 1003" -t "$TOK" "$HP" 'binary:\x00\x01' 'expect_close:1003'
ws "unknown channel is an error message" -t "$TOK" "$HP" 'text:{"ch":"nope"}' 'expect:unknown_channel' \
    'text:{"ch":"echo","after":1}' 'expect:after'

echo "# 2: ping and pong"
ws "2.1 ping without payload" -t "$TOK" "$HP" 'ping:' 'expect_pong:'
ws "2.2 ping payload is echoed" -t "$TOK" "$HP" 'ping:Hello, world!' 'expect_pong:Hello, world!'
ws "2.3 binary ping payload" -t "$TOK" "$HP" 'ping:\x00\xff\xfe\xfd\xfc' 'expect_pong:\x00\xff\xfe\xfd\xfc'
P125=$(printf 'x%.0s' $(seq 1 125)); P126="${P125}x"
ws "2.4 ping of 125 bytes" -t "$TOK" "$HP" "ping:$P125" "expect_pong:$P125"
ws "2.5 ping of 126 bytes closes 1002" -t "$TOK" "$HP" "ping:$P126" 'expect_close:1002'
ws "2.6 unsolicited pong is ignored" -t "$TOK" "$HP" 'pong:x' 'text:{"ch":"echo","a":1}' 'expect:"a":1'
ws "2.7 fragmented ping closes 1002" -t "$TOK" "$HP" 'frame:0,0,9,1,a' 'expect_close:1002'

echo "# 3: reserved bits"
for r in 1 2 4 7; do
    ws "3.$r RSV=$r closes 1002" -t "$TOK" "$HP" "frame:1,$r,1,1,{\"ch\":\"echo\"}" 'expect_close:1002'
done

echo "# 4: reserved opcodes"
for op in 3 7 11 15; do
    ws "4 opcode $op closes 1002" -t "$TOK" "$HP" "frame:1,0,$op,1,x" 'expect_close:1002'
done

echo "# 5: fragmentation"
ws "5.1 message in 5 fragments" -t "$TOK" "$HP" 'frags:5:{"ch":"echo","frag":"mented"}' 'expect:mented'
ws "5.2 ping between fragments is answered first" -t "$TOK" "$HP" 'frame:0,0,1,1,{"ch":"ec' \
    'ping:mid' 'frame:1,0,0,1,ho","z":9}' 'expect_pong:mid' 'expect:"z":9'
ws "5.3 continuation without a start closes 1002" -t "$TOK" "$HP" 'frame:1,0,0,1,x' 'expect_close:1002'
ws "5.4 new message inside a fragmented one closes 1002" -t "$TOK" "$HP" 'frame:0,0,1,1,{' \
    'frame:1,0,1,1,{}' 'expect_close:1002'
ws "5.5 unmasked client frame closes 1002" -t "$TOK" "$HP" 'frame:1,0,1,0,{"ch":"echo"}' 'expect_close:1002'

echo "# 6: UTF-8"
ws "6.1 valid multi-byte text" -t "$TOK" "$HP" 'text:{"ch":"echo","t":"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"}' \
    'expect:"t":"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"'
ws "6.2 a character split across fragments" -t "$TOK" "$HP" 'frame:0,0,1,1,{"ch":"echo","e":"\xe2' \
    'frame:0,0,0,1,\x82' 'frame:1,0,0,1,\xac"}' 'expect:€'
ws "6.3 invalid UTF-8 closes 1007" -t "$TOK" "$HP" 'text:{"ch":"echo","t":"\xed\xa0\x80"}' 'expect_close:1007'
ws "6.4 invalid UTF-8 in a later fragment closes 1007" -t "$TOK" "$HP" 'frame:0,0,1,1,{"ch":"echo"' \
    'frame:1,0,0,1,\xc0\xaf}' 'expect_close:1007'
ws "6.5 text ending mid-character closes 1007" -t "$TOK" "$HP" 'frame:0,0,1,1,{"x":"\xe2\x82' \
    'frame:1,0,0,1,' 'expect_close:1007'

echo "# 7: closing"
ws "7.1 close without payload is answered without payload" -t "$TOK" "$HP" 'close' 'expect_close:1005'
ws "7.2 close 1000 with reason is echoed" -t "$TOK" "$HP" 'close:1000:bye' 'expect_close:1000'
ws "7.3 data after our close is ignored" -t "$TOK" "$HP" 'close:1000' 'text:{"ch":"echo"}' 'expect_close:1000'
for c in 1001 1003 1007 1011 3000 4999; do
    ws "7.4 valid code $c is echoed" -t "$TOK" "$HP" "close:$c" "expect_close:$c"
done
for c in 0 999 1004 1005 1006 1016 2000 5000; do
    ws "7.5 invalid code $c closes 1002" -t "$TOK" "$HP" "close:$c" 'expect_close:1002'
done
ws "7.6 one-byte close payload closes 1002" -t "$TOK" "$HP" 'frame:1,0,8,1,\x03' 'expect_close:1002'
ws "7.7 close reason with invalid UTF-8 closes 1007" -t "$TOK" "$HP" 'close:1000:\xff' 'expect_close:1007'
ws "7.8 server-initiated close (plugin ws_close)" -t "$TOK" "$HP" \
    'text:{"ch":"echo","type":"close","code":4000,"reason":"done"}' 'expect_close:4000'
ws "7.9 TCP drop without close is survived" -t "$TOK" "$HP" 'frame:0,0,1,1,{"half'

echo "# 9: limits"
ws "9.1 message over max_message_size closes 1009" -t "$TOK" "$HP" 'big:300000' 'expect_close:1009'
ws "9.2 fragments adding up over the limit close 1009" -t "$TOK" "$HP" 'big:270000:40' 'expect_close:1009'
ws "9.3 a message of exactly the limit in 64 fragments" -t "$TOK" "$HP" 'big:262144:64' 'expect:"pad":"xxx'
ws "9.4 a client that does not read is closed 1008" -T 10000 -t "$TOK" "$HP" \
    'text:{"ch":"echo","type":"flood","n":600,"size":10000}' 'sleep:500' 'expect_close:1008'

echo "# keepalive, identity, delivery"
ws "pings keep a live client open past idle_timeout" -T 8000 -t "$TOK" "$HP" 'idle:4500' \
    'text:{"ch":"echo","alive":1}' 'expect:alive'
ws "a client that never answers is closed 1001 after idle_timeout" -n -T 8000 -t "$TOK" "$HP" 'expect_close:1001'
ws "whoami: user, role and the per-connection slot" -t "$TOK" "$HP" 'text:{"ch":"echo","n":1}' \
    'expect:"n":1' 'text:{"ch":"echo","type":"whoami"}' 'expect:"count":2'
"$WSC" -T 8000 -t "test.bob.landlord.$EXP" "$HP" 'expect:hello' 'count:"text":"to bob":2' >"$T/bob1" 2>&1 & B1=$!
"$WSC" -T 8000 -t "test.bob.landlord.$EXP" "$HP" 'expect:hello' 'count:"text":"to bob":2' >"$T/bob2" 2>&1 & B2=$!
sleep 0.5
ws "ws_send_user from a channel reaches every connection of the user" -t "$TOK" "$HP" \
    'text:{"ch":"echo","type":"to_user","user":"bob","text":"to bob"}' 'expect:"rc":0'
expect_eq "ws_send_user from a route" "$(status POST "$BASE/v1/_test/ws/push" -d '{"user":"bob","text":"to bob"}')" 200
check "bob's first connection got both" wait $B1
check "bob's second connection got both" wait $B2
expect_eq "ws_send_user refuses over 7 KiB" "$(status POST "$BASE/v1/_test/ws/push" \
    -d "{\"user\":\"bob\",\"text\":\"$(head -c 8000 /dev/zero | tr '\0' y)\"}")" 400

echo "# token expiry"
"$WSC" -T 8000 -t "test.carol.tenant.$(( $(date +%s) + 60 ))" "$HP" 'expect:hello' 'expect_close:4001' \
    >"$T/carol" 2>&1 & C=$!
J=""
if [ -x "$MKJWT" ]; then
    "$WSC" -T 8000 -t "$("$MKJWT" -k "$T/secret" -s u-8 -e 60)" "$HP" 'expect:hello' 'expect_close:4001' \
        >"$T/jwt" 2>&1 & J=$!
fi
sleep 0.5
status POST "$BASE/v1/_test/clock" -d '{"advance_ms":120000}' >/dev/null
check "an expired token closes 4001 token expired" wait $C
[ -z "$J" ] || check "an expired JWT closes 4001 too" wait $J
check "the close reason says so" grep -q "close 4001 token expired" "$T/carol"

echo "# metrics"
curl -fsS "$BASE/metrics" >"$T/metrics"
check "metrics: opened" grep -Eq '^rentezy_ws_opened_total [1-9]' "$T/metrics"
check "metrics: closed 1002" grep -Eq '^rentezy_ws_closed_total\{code="1002"\} [1-9]' "$T/metrics"
check "metrics: closed 1009" grep -Eq '^rentezy_ws_closed_total\{code="1009"\} [1-9]' "$T/metrics"
check "metrics: bytes and messages" grep -Eq '^rentezy_ws_received_messages_total [1-9]' "$T/metrics"
check "metrics: refused handshakes" grep -Eq '^rentezy_ws_refused_total [1-9]' "$T/metrics"
check "metrics: queue overflow" grep -Eq '^rentezy_ws_send_queue_overflows_total [1-9]' "$T/metrics"
check "openapi documents /v1/ws" sh -c "curl -fsS $BASE/openapi.json | grep -q '\"/v1/ws\"'"

echo "# drain"
"$WSC" -T 8000 -t "$TOK" "$HP" 'expect:hello' 'expect_close:1001' >"$T/drain" 2>&1 & D=$!
sleep 0.5
rz_stop TERM
check "SIGTERM closes connections with 1001" wait $D
expect_eq "the daemon exits 0 after draining" "$RZ_STATUS" 0
finish
