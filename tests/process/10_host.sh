#!/usr/bin/env bash
# The daemon over real sockets: routing, errors, limits, request ids,
# keep-alive, metrics, draining on SIGTERM, worker restarts, SIGHUP.
. "$(dirname "$0")/../lib.sh"

NO_DB=1 WORKERS=2 PLUGINS="hello $TPLUGDIR/slow.so" rz_conf "$T/c" \
    "[http]" "read_timeout = 1s" "max_body_size = 64KiB" "max_header_size = 4KiB" "max_uri_length = 1KiB" \
    "[plugin.hello]" "greeting = Hello"
rz_start "$T/c" || exit 1

expect_eq "healthz answers 200" "$(status GET "$BASE/healthz")" 200
expect_eq "readyz answers 200 without a database" "$(status GET "$BASE/readyz")" 200
expect_eq "a plugin route answers" "$(curl -s "$BASE/v1/hello/ana")" '{"message":"Hello, ana!"}'
expect_eq "path parameters are percent-decoded" "$(curl -s "$BASE/v1/hello/a%20b")" '{"message":"Hello, a b!"}'
expect_eq "unknown path is 404" "$(status GET "$BASE/v1/nope")" 404
check "404 is a JSON error" jq -e '.error.code == "not_found"' "$T/body"
expect_eq "wrong method is 405" "$(status DELETE "$BASE/v1/hello")" 405
check "405 carries Allow" sh -c "curl -si -X DELETE '$BASE/v1/hello' | grep -qi '^Allow: GET, POST'"
expect_eq "malformed JSON is 400" "$(status POST "$BASE/v1/hello" -d '{"name":')" 400
check "malformed JSON names the error" jq -e '.error.code == "invalid_json"' "$T/body"
expect_eq "trailing garbage after JSON is 400" "$(status POST "$BASE/v1/hello" -d '{"name":"x"} x')" 400
expect_eq "wrong JSON type is 400" "$(status POST "$BASE/v1/hello" -d '{"name":5}')" 400
check "the field is named" jq -e '.error.field == "name"' "$T/body"
expect_eq "chunked bodies are decoded" "$(curl -s -H 'Transfer-Encoding: chunked' -d '{"name":"c"}' "$BASE/v1/hello")" '{"message":"Hello, c!"}'
head -c 70000 /dev/zero | tr '\0' a > "$T/big"
expect_eq "a body over max_body_size is 413" "$(status POST "$BASE/v1/hello" --data-binary @"$T/big")" 413
check "413 is JSON" jq -e '.error.code == "body_too_large"' "$T/body"
expect_eq "a long URI is 414" "$(status GET "$BASE/v1/hello/$(head -c 2000 /dev/zero | tr '\0' a)")" 414
expect_eq "large headers are 431" "$(status GET "$BASE/v1/hello" -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)")" 431
check "X-Request-Id is echoed" sh -c "curl -si -H 'X-Request-Id: abc-123' '$BASE/healthz' | grep -qi '^X-Request-Id: abc-123'"
check "X-Request-Id is generated" sh -c "curl -si '$BASE/healthz' | grep -qiE '^X-Request-Id: [0-9a-f]{24}'"
check "keep-alive reuses the connection" sh -c "curl -sv '$BASE/healthz' '$BASE/healthz' 2>&1 | grep -qiE 'Re-using existing connection|reusing connection'"

# Raw protocol cases over bash's /dev/tcp.
raw() { # BYTES -> response
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"; printf "$1" >&3; timeout 3 cat <&3; exec 3<&-
}
expect_eq "garbage request line" "$(raw 'GARBAGE\r\n\r\n' | head -1 | tr -d '\r')" "HTTP/1.1 400 Bad Request"
expect_eq "HTTP/2.0 request line is 505" "$(raw 'GET / HTTP/2.0\r\n\r\n' | head -1 | tr -d '\r')" "HTTP/1.1 505 HTTP Version Not Supported"
expect_eq "conflicting Content-Length is 400" "$(raw 'POST /v1/hello HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab' | head -1 | tr -d '\r')" "HTTP/1.1 400 Bad Request"
expect_eq "pipelined requests answer in order" "$(raw 'GET /v1/hello/a HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/hello/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | grep -o 'Hello, [ab]' | tr '\n' ' ')" "Hello, a Hello, b "
# a client that sends half a request and stalls gets 408 after read_timeout
exec 3<>"/dev/tcp/127.0.0.1/$PORT"; printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&3
expect_eq "a stalled request gets 408" "$(timeout 4 cat <&3 | head -1 | tr -d '\r')" "HTTP/1.1 408 Request Timeout"
exec 3<&-

check "metrics has build info" sh -c "curl -s '$BASE/metrics' | grep -q '^rentezy_build_info'"
check "metrics counts requests by route and status" sh -c "curl -s '$BASE/metrics' | grep -q 'rentezy_http_requests_total{method=\"GET\",route=\"/v1/hello/{name}\",status=\"200\"}'"
check "a plugin's own counter (ABI 1.2) is in metrics" sh -c "curl -s '$BASE/metrics' | grep -qE '^rentezy_plugin_hello_greetings_total\{worker=\"[01]\"\} [1-9]'"
check "metrics has a latency histogram" sh -c "curl -s '$BASE/metrics' | grep -q 'rentezy_http_request_duration_seconds_bucket'"
check "openapi.json documents the plugin routes" sh -c "curl -s '$BASE/openapi.json' | jq -e '.paths[\"/v1/hello/{name}\"].get'"
check "access log line has method, route, status, duration and request id" \
    sh -c "sleep 0.3; grep '\"src\":\"access\"' '$T/daemon.log' | grep '\"route\":\"/v1/hello/{name}\"' | jq -e 'has(\"duration_ms\") and has(\"request_id\") and .status == 200' >/dev/null"

# kill -9 of a worker: the master starts a new one that serves.
workers() { pgrep -P "$RZ_PID" | sort; }
before=$(workers | head -1)
kill -9 "$before"
ok=0
for _ in $(seq 1 50); do
    if [ "$(workers | wc -l)" = 2 ] && ! workers | grep -qx "$before"; then ok=1; break; fi
    sleep 0.1
done
expect_eq "a killed worker is replaced" "$ok" 1
expect_eq "the daemon still serves" "$(status GET "$BASE/healthz")" 200
check "the restart is logged" grep -q 'killed by signal 9' "$T/daemon.log"
check "the restart is counted in /metrics" sh -c "curl -s '$BASE/metrics' | grep -q '^rentezy_worker_restarts_total 1'"

# SIGHUP: a changed configuration is applied by new workers.
sed -i 's/^greeting = Hello/greeting = Hi/' "$T/c/00-test.conf"
kill -HUP "$RZ_PID"
ok=0
for _ in $(seq 1 50); do
    [ "$(curl -s "$BASE/v1/hello")" = '{"message":"Hi, world!"}' ] && { ok=1; break; }
    sleep 0.1
done
expect_eq "SIGHUP applies the changed configuration" "$ok" 1
echo "[host]" > "$T/c/99-bad.conf"; echo "workers = many" >> "$T/c/99-bad.conf"
kill -HUP "$RZ_PID"; sleep 0.5
expect_eq "a bad configuration on SIGHUP keeps the daemon serving" "$(status GET "$BASE/v1/hello")" 200
check "the refused reload is logged with file:line" grep -q '99-bad.conf:2' "$T/daemon.log"
rm "$T/c/99-bad.conf"

# SIGTERM while a slow request runs: it completes, the daemon exits 0.
curl -s -o "$T/slow.out" -w '%{http_code}' "$BASE/v1/slow?ms=1500" > "$T/slow.code" &
cpid=$!
sleep 0.4
rz_stop TERM
wait "$cpid"
expect_eq "an in-flight request finishes during shutdown" "$(cat "$T/slow.code")" 200
expect_eq "the daemon exits 0 after SIGTERM" "$RZ_STATUS" 0
expect_eq "nothing listens after shutdown" "$(status GET "$BASE/healthz" --max-time 1)" 000

finish
